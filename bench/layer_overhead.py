#!/usr/bin/env python3
"""Per-layer cost (not a test, GPU machine): forward+backward of
iabn.torch.InPlaceABN against nn.BatchNorm2d + LeakyReLU, eager, all in one
run: on a tiny tensor, where the time is host overhead (Python, dispatch,
launches), and on the layer shapes of issue 13. The input's producer
(clone * 1) is timed alone and subtracted. Also prints the CUDA kernel
launches per layer (torch.profiler). Usage:
IABN_LIB_DIR=build/lib python3 bench/layer_overhead.py"""

import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from iabn.torch import InPlaceABN  # noqa: E402


def per_call(layer, x, iters):
    g = torch.ones_like(x)
    for _ in range(20):
        layer(x.clone().requires_grad_() * 1).backward(g)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        layer(x.clone().requires_grad_() * 1).backward(g)
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters * 1e6


def launches(layer, x):
    """CUDA kernels launched by one forward+backward of the layer."""
    g = torch.ones_like(x)
    xs = x.clone().requires_grad_()
    inp = xs * 1
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        layer(inp).backward(g)
        torch.cuda.synchronize()
    kernels = [e for e in prof.events()
               if e.device_type == torch.autograd.DeviceType.CUDA]
    # The mul's backward (one kernel) is not the layer's.
    return len(kernels) - 1, sorted(e.name[:48] for e in kernels)


def main():
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print("| shape | dtype | BN+LeakyReLU us | InPlaceABN us | ratio | "
          "launches BN | launches IABN |")
    print("|---|---|---|---|---|---|---|")
    cases = [((2, 8, 4, 4), torch.float32, 500),
             ((8, 512, 28, 28), torch.float16, 200),
             ((64, 2048, 7, 7), torch.float32, 200),
             ((32, 256, 56, 56), torch.bfloat16, 100)]
    names = {}
    for shape, dtype, iters in cases:
        c = shape[1]
        x = torch.randn(*shape, device="cuda", dtype=dtype)
        bn = nn.Sequential(nn.BatchNorm2d(c), nn.LeakyReLU(0.01)).cuda()
        iabn = InPlaceABN(c, activation="leaky_relu",
                          activation_param=0.01).cuda()
        bn_layer = bn  # f16/bf16 data with f32 parameters, as autocast
        base = per_call(lambda t: t, x, iters)
        t_bn = per_call(bn_layer, x, iters) - base
        t_iabn = per_call(iabn, x, iters) - base
        (n_bn, k_bn), (n_iabn, k_iabn) = launches(bn, x), launches(iabn, x)
        names[shape] = (k_bn, k_iabn)
        print(f"| {tuple(shape)} | {str(dtype)[6:]} | {t_bn:.1f} | "
              f"{t_iabn:.1f} | {t_iabn / t_bn:.2f} | {n_bn} | {n_iabn} |",
              flush=True)
    for shape, (k_bn, k_iabn) in names.items():
        print(f"kernels {shape}: BN {k_bn}\n  IABN {k_iabn}")


if __name__ == "__main__":
    sys.exit(main())
