#!/usr/bin/env python3
"""Network-level benchmark (not a test; GPU machine): training steps (SGD
with momentum, cross-entropy, 224x224, batch B) of ResNet-50 or
WideResNet-38 (bench/models.py) with nn.BatchNorm2d + LeakyReLU(0.01)
against InPlace-ABN on the compiler-generated kernels, fp32 and bf16
autocast, all in the same run: peak memory (torch.cuda.max_memory_allocated
over the timed steps) and median step time; with --max-batch also the
largest batch that trains without running out of memory.

Variants:
  bn      nn.BatchNorm2d + nn.LeakyReLU(0.01) (the baseline)
  auto    the baseline after iabn.torch.convert's decisions
          (bench/plans/<model>.json, written by bench/convert_plan.py)
  manual  InPlaceABN everywhere, written by hand as the official library's
          models are (pre-activation blocks clone their shortcut)

Usage: python3 bench/network_bench.py --model wrn38 --batch 32 \
           [--variants bn,auto,manual] [--precisions fp32,bf16] \
           [--steps 20] [--max-batch] [--compile [MODE]] [--json out.json]
"""

import argparse
import gc
import json
import os
import statistics
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
import models  # noqa: E402
from timing import event_times_ms, sgd_step  # noqa: E402

LABELS = {"bn": "BatchNorm2d+LeakyReLU", "auto": "iabn convert (auto)",
          "manual": "InPlaceABN by hand"}


def build(name, variant):
    torch.manual_seed(0)
    if variant == "manual":
        return models.build(name, "iabn")
    model = models.build(name, "bn")
    if variant == "auto":
        with open(os.path.join(HERE, "plans", f"{name}.json")) as f:
            models.apply_plan(model, json.load(f))
    return model


COMPILE = {"on": False, "mode": None}
SIZE = {"pixels": 224}


def trainer(name, variant, batch, precision):
    model = build(name, variant).cuda()
    if COMPILE["on"]:
        model = torch.compile(model, mode=COMPILE["mode"])
    return sgd_step(model, batch, precision, SIZE["pixels"])[0]


def release():
    gc.collect()
    torch.cuda.empty_cache()


def measure(name, variant, batch, precision, steps):
    step = trainer(name, variant, batch, precision)
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = event_times_ms(step, steps)
    peak = torch.cuda.max_memory_allocated()
    del step
    release()
    return peak, statistics.median(times)


def fits(name, variant, batch, precision):
    # No cuDNN autotuning while probing (it would rerun for every batch).
    torch.backends.cudnn.benchmark = False
    ok = True
    try:
        step = trainer(name, variant, batch, precision)
        step()
        step()
        torch.cuda.synchronize()
        del step
    except torch.cuda.OutOfMemoryError:
        ok = False
    release()
    torch.backends.cudnn.benchmark = True
    return ok


def max_batch(name, variant, precision, start):
    """Largest batch that trains (2 steps, cuDNN heuristics instead of
    autotuning), to within 2% (>= 1 image)."""
    lo, hi = 0, start
    while fits(name, variant, hi, precision):
        lo, hi = hi, hi * 2
    while hi - lo > max(1, lo // 50):
        mid = (lo + hi) // 2
        if fits(name, variant, mid, precision):
            lo = mid
        else:
            hi = mid
    return lo


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=sorted(models.MODELS),
                        default="resnet50")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--variants", default="bn,auto,manual")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--max-batch", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--size", type=int, default=224,
                        help="image height and width")
    parser.add_argument("--compile", nargs="?", const="default",
                        help="torch.compile the model (optionally a mode, "
                        "e.g. max-autotune-no-cudagraphs)")
    args = parser.parse_args()
    if args.compile:
        COMPILE["on"] = True
        COMPILE["mode"] = None if args.compile == "default" else args.compile
    SIZE["pixels"] = args.size
    torch.backends.cudnn.benchmark = True
    variants = args.variants.split(",")
    assert variants[0] == "bn", "the baseline (bn) comes first"
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}"
          f", {args.model} batch {args.batch} {args.size}x{args.size}, SGD step, median of "
          f"{args.steps}" + (f", torch.compile({args.compile})"
                             if args.compile else ""))
    print("| precision | layer | peak memory GiB | vs BN | step ms | vs BN |"
          + (" max batch |" if args.max_batch else ""))
    print("|---|---|---|---|---|---|" + ("---|" if args.max_batch else ""))
    rows = []
    for precision in args.precisions.split(","):
        base = None
        for variant in variants:
            peak, ms = measure(args.model, variant, args.batch, precision,
                               args.steps)
            base = base or (peak, ms)
            row = {"model": args.model, "batch": args.batch,
                   "size": args.size, "compile": args.compile,
                   "precision": precision, "variant": variant,
                   "peak_bytes": peak, "step_ms": ms,
                   "memory_vs_bn": (peak - base[0]) / base[0],
                   "time_vs_bn": (ms - base[1]) / base[1]}
            if args.max_batch:
                row["max_batch"] = max_batch(args.model, variant, precision,
                                             args.batch)
            rows.append(row)
            print(f"| {precision} | {LABELS[variant]} | {peak / 2**30:.2f} | "
                  f"{100 * row['memory_vs_bn']:+.1f}% | {ms:.1f} | "
                  f"{100 * row['time_vs_bn']:+.1f}% |" +
                  (f" {row['max_batch']} |" if args.max_batch else ""),
                  flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(),
                       "torch": torch.__version__, "rows": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
