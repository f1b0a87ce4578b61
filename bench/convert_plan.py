#!/usr/bin/env python3
"""Runs iabn.torch.convert on a benchmark network (kind "bn") on the CPU and
writes its decisions as a JSON plan that bench/network_bench.py applies on
the GPU machine (which has no compiler library).

Usage: IABN_LIB_DIR=build/lib python3 bench/convert_plan.py wrn38 \
           bench/plans/wrn38.json
"""

import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)
from iabn.torch import convert  # noqa: E402
import models  # noqa: E402


def main():
    name, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    model = models.build(name, "bn")
    start = time.time()
    _, result = convert(model, torch.randn(2, 3, 64, 64), verbose=False)
    batch_norms = sum(isinstance(m, torch.nn.BatchNorm2d)
                      for m in models.build(name, "bn").modules())
    plan = {"model": name, "batch_norms": batch_norms,
            "replaced": result.plan,
            "remarks": [r.location + ": " + r.message
                        for r in result.remarks]}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(plan, f, indent=1)
    print(f"{name}: {len(result.plan)} of {batch_norms} batch norms replaced, "
          f"{sum(p['inplace'] for p in result.plan)} in place "
          f"({time.time() - start:.1f} s); plan in {out}")


if __name__ == "__main__":
    main()
