#!/usr/bin/env python3
"""Exports the training step of real networks with iabn.torch.export and
runs the InPlace-ABN pipeline on them: chains found, strategies, and the
bytes saved for the backward before and after (static, from the graph; no
GPU needed). Models: the ResNet-50 (LeakyReLU) and WideResNet-38 of
bench/models.py, and torchvision's resnet50 / densenet121 when torchvision
is installed. The export traces on fake tensors: nothing is computed.

Usage: python3 bench/export_report.py [--batch 2] [--size 224]
"""

import argparse
import collections
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
from iabn.torch.export import memory_report  # noqa: E402
import models as bench_models  # noqa: E402


def models():
    yield "ResNet-50 (LeakyReLU, bench)", bench_models.build("resnet50", "bn")
    yield "WideResNet-38 A2 (LeakyReLU, bench)", bench_models.build("wrn38",
                                                                    "bn")
    try:
        import torchvision
    except ImportError:
        print("(torchvision not installed: its models are skipped)")
        return
    yield "torchvision resnet50 (ReLU)", torchvision.models.resnet50()
    yield "torchvision densenet121 (ReLU)", torchvision.models.densenet121()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, batch {args.batch}, "
          f"{args.size}x{args.size}")
    print("| model | BN chains | strategies | saved before MiB | saved after "
          "MiB | change | export+pipeline s |")
    print("|---|---|---|---|---|---|---|")
    for name, model in models():
        start = time.time()
        x = torch.randn(args.batch, 3, args.size, args.size)
        result = memory_report(model, x)
        seconds = time.time() - start
        kinds = collections.Counter(
            r.message.split(":")[0] for r in result.remarks)
        before = result.memory_reports["before"]["functions"][0]
        after = result.memory_reports["after"]["functions"][0]
        b, a = before["saved_bytes"], after["saved_bytes"]
        print(f"| {name} | {len(result.remarks)} | "
              f"{', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))} | "
              f"{b / 2**20:.1f} | {a / 2**20:.1f} | "
              f"{100 * (a - b) / b:+.1f}% | {seconds:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
