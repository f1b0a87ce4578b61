#!/usr/bin/env python3
"""Host overhead of one layer (not a test, GPU machine): forward+backward of
iabn.torch.InPlaceABN vs BatchNorm2d + LeakyReLU on a tiny tensor, where
the time is all launch and Python overhead. Usage:
IABN_LIB_DIR=build/lib python3 bench/layer_overhead.py"""

import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from iabn.torch import InPlaceABN  # noqa: E402


def per_call(layer, x, iters=300):
    g = torch.ones_like(x)
    for _ in range(20):
        y = layer(x.clone().requires_grad_() * 1)
        y.backward(g)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        y = layer(x.clone().requires_grad_() * 1)
        y.backward(g)
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters * 1e6


def main():
    x = torch.randn(8, 64, 7, 7, device="cuda")
    bn = nn.Sequential(nn.BatchNorm2d(64), nn.LeakyReLU(0.01)).cuda()
    iabn = InPlaceABN(64).cuda()
    base = per_call(lambda t: t, x)
    print(f"clone+mul+backward alone: {base:.1f} us")
    print(f"BatchNorm2d + LeakyReLU fwd+bwd: {per_call(bn, x) - base:.1f} us")
    print(f"InPlaceABN fwd+bwd: {per_call(iabn, x) - base:.1f} us")


if __name__ == "__main__":
    sys.exit(main())
