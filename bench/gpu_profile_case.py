#!/usr/bin/env python3
"""Runs one InPlace-ABN forward+backward case a few times, for profiling the
generated kernels with ncu, e.g.:
  ncu --section SpeedOfLight --section Occupancy -k regex:partial_stats_cl \\
      python3 bench/gpu_profile_case.py build/lib/libiabn_cuda.so \\
      --shape 32 256 56 56 --nhwc --dtype float16
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test",
                                "GPU"))
import iabn_gpu as ig  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lib")
    parser.add_argument("--shape", type=int, nargs=4, default=[32, 256, 56, 56])
    parser.add_argument("--nhwc", action="store_true")
    parser.add_argument("--dtype", default="float16")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    k = ig.Kernels(args.lib)
    dtype = getattr(torch, args.dtype)
    fmt = torch.channels_last if args.nhwc else torch.contiguous_format
    x = torch.randn(args.shape, device="cuda", dtype=dtype).contiguous(
        memory_format=fmt)
    dz = torch.randn_like(x)
    c = args.shape[1]
    g, b = torch.ones(c, device="cuda"), torch.zeros(c, device="cuda")
    mean, var = torch.empty_like(g), torch.empty_like(g)
    dg, db = torch.empty_like(g), torch.empty_like(g)
    layout = ig.layout_of(x, args.nhwc)
    opts = ig.Options(ig.ACTIVATIONS["leaky_relu"], 0.01, 0, 1e-5)
    ws = k.workspace(layout, "cuda")
    for _ in range(args.repeat):
        k.forward_train(layout, opts, x, x, g, b, mean, var, workspace=ws)
        k.backward(layout, opts, x, dz, dz, g, b, var, dg, db, workspace=ws)
    torch.cuda.synchronize()
    return 0


if __name__ == "__main__":
    sys.exit(main())
