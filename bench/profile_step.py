#!/usr/bin/env python3
"""Profiles a few training steps of a benchmark network (torch.profiler):
the top CUDA kernels and host time per step. Diagnostic, not a benchmark.

Usage: python3 bench/profile_step.py --model resnet50 --variant auto \
           --batch 128 --precision bf16 [--compile]
"""

import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import network_bench as nb  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--variant", default="auto")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    nb.COMPILE["on"] = args.compile
    step = nb.trainer(args.model, args.variant, args.batch, args.precision)
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    acts = [torch.profiler.ProfilerActivity.CPU,
            torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=acts) as prof:
        for _ in range(3):
            step()
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total",
                                    row_limit=args.rows, max_name_column_width=60))


if __name__ == "__main__":
    main()
