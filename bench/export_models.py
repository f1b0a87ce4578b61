#!/usr/bin/env python3
"""Writes the exported training steps (IABN IR) of real networks to a
directory, for machines where the compiler library is not available (the
GPU machine): run the pipeline on them elsewhere with
  iabn-opt F --iabn-memory-report --iabn-pipeline --iabn-memory-report
Usage: python3 bench/export_models.py OUTDIR [--batch 2] [--size 224]"""

import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
from iabn.torch.export import export_training_step  # noqa: E402
from export_report import models  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    print(f"torch {torch.__version__}")
    for name, model in models():
        x = torch.randn(args.batch, 3, args.size, args.size)
        ir = export_training_step(model, x)
        path = os.path.join(args.outdir, "".join(
            c if c.isalnum() else "_" for c in name) + ".mlir")
        with open(path, "w") as f:
            f.write(ir)
        print(f"{name}: {path} ({ir.count('iabn.batch_norm_train ')} batch "
              f"norms, {len(ir)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
