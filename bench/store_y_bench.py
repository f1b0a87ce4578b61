#!/usr/bin/env python3
"""Store-y benchmark (not a test): torchvision models with BatchNorm + a
non-invertible activation (relu, relu6, silu), training steps (SGD,
cross-entropy, 224x224) with plain BatchNorm, with torch.compile (default
partitioner, and with activation_memory_budget=0.5), with
iabn.torch.convert's default plan and with its store_y plan, side by side in
one process: peak memory above the model's state and median step time.

The plans need the compiler (a machine with LLVM): make them with
    python3 bench/store_y_bench.py --make-plans
which writes bench/plans/tv_<model>.json; the GPU run applies them with
iabn.torch.convert.apply_plan:
    python3 bench/store_y_bench.py --models resnet50:64,densenet121:32
"""

import argparse
import copy
import gc
import json
import os
import statistics
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
from timing import event_times_ms, sgd_step  # noqa: E402


def plan_path(name):
    return os.path.join(HERE, "plans", f"tv_{name}.json")


def make_plans(names):
    import torchvision
    from iabn.torch import convert
    for name in names:
        model = getattr(torchvision.models, name)()
        x = torch.randn(2, 3, 64, 64)
        plans = {}
        for key, store_y in (("default", False), ("store_y", True)):
            _, result = convert(copy.deepcopy(model), x, verbose=False,
                                store_y=store_y)
            plans[key] = result.plan
        with open(plan_path(name), "w") as f:
            json.dump(plans, f, indent=1)
        print(f"{name}: default {len(plans['default'])} layers, store_y "
              f"{len(plans['store_y'])} layers "
              f"({sum(p.get('strategy') == 'store-y' for p in plans['store_y'])}"
              f" store-y) -> {plan_path(name)}")


def trainer(name, variant, batch, precision):
    import torchvision
    from iabn.torch.convert import apply_plan
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)()
    if variant in ("default", "store_y"):
        with open(plan_path(name)) as f:
            apply_plan(model, json.load(f)[variant])
    model = model.cuda()
    if variant.startswith("compile"):
        import torch._functorch.config as functorch_config
        torch._dynamo.reset()
        functorch_config.activation_memory_budget = \
            0.5 if variant == "compile_budget" else 1.0
        model = torch.compile(model)
    return sgd_step(model, batch, precision)[0]


def measure(name, variant, batch, precision, steps):
    step = trainer(name, variant, batch, precision)
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    resident = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    times = event_times_ms(step, steps)
    peak = torch.cuda.max_memory_allocated() - resident
    del step
    gc.collect()
    torch.cuda.empty_cache()
    return peak, statistics.median(times)


def kernel_ms(name, variant, batch, precision, steps=5):
    """GPU kernel time per step (torch.profiler, the sum of every kernel's
    own device time) and the step's wall time: where the step is
    host-bound, the wall time exceeds the kernel time."""
    from torch.profiler import ProfilerActivity, profile
    step = trainer(name, variant, batch, precision)
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU,
                             ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    total = 0.0
    launches = 0
    for event in prof.events():
        if str(getattr(event, "device_type", "")).endswith("CUDA"):
            total += getattr(event, "self_device_time_total",
                             getattr(event, "self_cuda_time_total", 0))
            launches += 1
    wall = statistics.median(event_times_ms(step, 10))
    del step
    gc.collect()
    torch.cuda.empty_cache()
    return total / 1000.0 / steps, launches / steps, wall


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--make-plans", action="store_true")
    parser.add_argument("--models", default="resnet50:64,densenet121:32")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--variants",
                        default="bn,compile,compile_budget,default,store_y")
    parser.add_argument("--json")
    parser.add_argument("--profile", action="store_true",
                        help="kernel time and launches per step instead")
    args = parser.parse_args()
    models = [m.split(":") for m in args.models.split(",")]
    if args.make_plans:
        make_plans([m[0] for m in models])
        return
    torch.backends.cudnn.benchmark = True
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__};"
          f" peak memory above the model's state, median of {args.steps} "
          "steps")
    rows = []
    if args.profile:
        for name, batch in models:
            for precision in args.precisions.split(","):
                for variant in args.variants.split(","):
                    gpu, launches, wall = kernel_ms(name, variant, int(batch),
                                                    precision)
                    print(f"{name} b{batch} {precision} {variant:14s} "
                          f"kernels {gpu:7.2f} ms/step ({launches:.0f} "
                          f"launches), wall {wall:7.2f} ms", flush=True)
        return
    for name, batch in models:
        for precision in args.precisions.split(","):
            base = None
            for variant in args.variants.split(","):
                peak, ms = measure(name, variant, int(batch), precision,
                                   args.steps)
                base = base or (peak, ms)
                rows.append(dict(model=name, batch=int(batch),
                                 precision=precision, variant=variant,
                                 peak_bytes=peak, step_ms=ms))
                print(f"{name} b{batch} {precision} {variant:14s} "
                      f"{peak / 2**30:6.2f} GiB ({100 * (peak / base[0] - 1):+5.1f}%)"
                      f"  {ms:7.2f} ms ({100 * (ms / base[1] - 1):+5.1f}%)",
                      flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
