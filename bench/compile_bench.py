#!/usr/bin/env python3
"""torch.compile benchmark (not a test; GPU machine): one model's SGD
training step (cross-entropy, 224x224) under each variant, side by side in
one process: median step time (CUDA events) and peak memory above the
model's resident state (parameters, optimizer state, input: allocated
memory at the start of a step, gradients freed).

Variants:
  bn           eager nn.BatchNorm2d (the model as built)
  bn-compiled  torch.compile(model) (inductor, default options)
  bn-budget    the same with torch._functorch.config.activation_memory_budget
               = BUDGET (0.5)
  iabn         torch.compile(model, backend="iabn"): IABN's joint-graph pass
  iabn-budget  the same with the activation-memory budget

Models: wrn38, resnet50 (bench/models.py: BatchNorm2d + LeakyReLU(0.01)),
tv-resnet50 and tv-mobilenet_v2 (torchvision, ReLU / ReLU6).

Usage: python3 bench/compile_bench.py --model wrn38 --batch 32 \
           --precision fp32 [--variants bn,bn-compiled,...] [--steps 20] \
           [--json out.json]
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
import models  # noqa: E402
from timing import event_times_ms, sgd_step  # noqa: E402

BUDGET = 0.5
VARIANTS = ("bn", "bn-compiled", "bn-budget", "iabn", "iabn-budget")


def build(name):
    torch.manual_seed(0)
    if name in models.MODELS:
        return models.build(name, "bn")
    import torchvision
    return getattr(torchvision.models, name.replace("tv-", ""))()


def measure(name, variant, batch, precision, steps):
    import iabn.torch  # noqa: F401 (registers backend="iabn")
    model = build(name).cuda()
    sites = []
    if variant != "bn":
        backend = iabn.torch.backend(record=sites) \
            if variant.startswith("iabn") else "inductor"
        model = torch.compile(model, backend=backend)
    budget = BUDGET if variant.endswith("budget") else 1.0
    step, opt = sgd_step(model, batch, precision)

    import torch._functorch.config as functorch_config
    start = time.time()
    with functorch_config.patch(activation_memory_budget=budget):
        for _ in range(3):
            step()
    torch.cuda.synchronize()
    compile_s = time.time() - start
    opt.zero_grad(set_to_none=True)
    resident = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    times = event_times_ms(step, steps)
    peak = torch.cuda.max_memory_allocated() - resident
    fused = sum(s.applied for s in sites)
    del model, opt, step  # noqa: F821 (frees the step's tensors)
    torch._dynamo.reset()
    gc.collect()
    torch.cuda.empty_cache()
    return {"peak_above_resident_bytes": peak,
            "step_ms": statistics.median(times),
            "first_steps_s": compile_s, "fused": fused,
            "sites": len(sites),
            "left_alone": sorted({s.reason for s in sites
                                  if not s.applied})[:5]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="wrn38")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--precision", choices=("fp32", "bf16"),
                        default="fp32")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    print(f"device: {torch.cuda.get_device_name()}, torch "
          f"{torch.__version__}, {args.model} b{args.batch} "
          f"{args.precision}, SGD step 224x224, median of {args.steps}",
          flush=True)
    print("| variant | step ms | vs bn-compiled | peak above resident GiB |"
          " fused | first 3 steps s |")
    print("|---|---|---|---|---|---|")
    rows, base = [], None
    for variant in args.variants.split(","):
        row = measure(args.model, variant, args.batch, args.precision,
                      args.steps)
        row.update(variant=variant, model=args.model, batch=args.batch,
                   precision=args.precision)
        if variant == "bn-compiled":
            base = row["step_ms"]
        rows.append(row)
        rel = f"{100 * (row['step_ms'] / base - 1):+.1f}%" if base else ""
        print(f"| {variant} | {row['step_ms']:.1f} | {rel} | "
              f"{row['peak_above_resident_bytes'] / 2**30:.2f} | "
              f"{row['fused']}/{row['sites']} | {row['first_steps_s']:.0f} |",
              flush=True)
        for reason in row["left_alone"]:
            print(f"  left alone: {reason[:160]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(),
                       "torch": torch.__version__, "rows": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
