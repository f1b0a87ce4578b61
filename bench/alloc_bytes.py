#!/usr/bin/env python3
"""Bytes a training-step function allocates per run on the CPU path, before
and after the InPlace-ABN rewrite: lowers the graph with
convert-iabn-to-linalg + One-Shot Bufferize and sums the static
memref.alloc sizes (the graphs are straight-line code: each alloc runs once
per call). Usage: alloc_bytes.py [--iabn-opt PATH] graph.mlir"""

import argparse
import re
import subprocess
import sys

BITS = {"f64": 64, "f32": 32, "f16": 16, "bf16": 16, "i64": 64, "i32": 32,
        "i8": 8, "i1": 8, "index": 64}
ALLOC = re.compile(
    r"memref\.alloc\(([^)]*)\)(?:\s*\{[^}]*\})?\s*:\s*memref<([^>]*)>")


def allocated(iabn_opt, path, rewrite):
    passes = (["--iabn-pipeline"] if rewrite else []) + [
        "--convert-iabn-to-linalg",
        "--one-shot-bufferize=bufferize-function-boundaries "
        "function-boundary-type-conversion=identity-layout-map"]
    ir = subprocess.run([iabn_opt, path, *passes], check=True,
                        capture_output=True, text=True).stdout
    total, count, dynamic, large = 0, 0, 0, 0
    for operands, shape in ALLOC.findall(ir):
        *dims, element = shape.split(",")[0].split("x")
        if operands.strip() or any(d == "?" for d in dims):
            dynamic += 1
            continue
        size = BITS[element] // 8
        for d in dims:
            size *= int(d)
        total += size
        count += 1
        large += len(dims) > 1
    return total, count, large, dynamic


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iabn-opt", default="build/bin/iabn-opt")
    parser.add_argument("graph")
    args = parser.parse_args()
    results = {}
    for label, rewrite in (("before", False), ("after", True)):
        total, count, large, dynamic = allocated(args.iabn_opt, args.graph,
                                                 rewrite)
        results[label] = total
        print(f"{label:6s}: {total} bytes in {count} allocations "
              f"({large} multi-dimensional), {dynamic} dynamic not counted")
    saved = results["before"] - results["after"]
    print(f"saved : {saved} bytes "
          f"({100.0 * saved / max(1, results['before']):.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
