#!/usr/bin/env python3
"""GPU benchmark (not a test): InPlace-ABN forward+backward and forward-only
with the compiler-generated kernels (libiabn_cuda.so) against PyTorch's
BatchNorm2d (training) + leaky_relu on the same tensors, in one run, with a
device-to-device copy measured in the same run as the bandwidth reference.

Effective bandwidth counts the minimum traffic: 8 tensor passes for
forward+backward (forward: read x twice, write z; backward: read z and dz
twice, write dx) and 3 for the forward.

Usage (on the GPU machine): python3 bench/gpu_bench.py [lib.so] [--json F]
"""

import argparse
import json
import os
import statistics
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test",
                                "GPU"))
import iabn_gpu as ig  # noqa: E402
from timing import event_times_ms  # noqa: E402

SHAPES = [(32, 256, 56, 56), (16, 64, 224, 224), (256, 64, 56, 56),
          (64, 2048, 7, 7)]
DTYPES = [torch.float32, torch.float16, torch.bfloat16]
SLOPE = 0.01


def timed(fn, iters=20, warmup=5, rounds=3):
    """The lowest of `rounds` medians of `iters` timed calls (the machines
    are shared and noisy: a round disturbed by a neighbour is discarded)."""
    for _ in range(warmup):
        fn()
    medians = []
    for _ in range(rounds):
        medians.append(statistics.median(event_times_ms(fn, iters)) * 1e-3)
    return min(medians)


def copy_bandwidth():
    src = torch.empty(512 * 1024 * 1024 // 4, dtype=torch.float32,
                      device="cuda")
    dst = torch.empty_like(src)
    t = timed(lambda: dst.copy_(src))
    return 2 * src.numel() * 4 / t


def bench_case(k, shape, dtype, channels_last):
    n, c, h, w = shape
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(shape, device="cuda", dtype=dtype).contiguous(
        memory_format=fmt)
    dz = torch.randn_like(x)
    gamma = torch.ones(c, device="cuda")
    beta = torch.zeros(c, device="cuda")
    rm, rv = torch.zeros(c, device="cuda"), torch.ones(c, device="cuda")
    mean, var = torch.empty(c, device="cuda"), torch.empty(c, device="cuda")
    dgamma, dbeta = torch.empty_like(mean), torch.empty_like(mean)
    layout = ig.layout_of(x, channels_last)
    opts = ig.Options(ig.ACTIVATIONS["leaky_relu"], SLOPE,
                      ig.GAMMA_MODES["sign_clamp"], 1e-5)
    ws = k.workspace(layout, "cuda")
    buf = x.clone()    # x, overwritten by z (in place)
    grad = dz.clone()  # dz, overwritten by dx (in place)

    def ours_fwd():
        k.forward_train(layout, opts, buf, buf, gamma, beta, mean, var, rm,
                        rv, 0.1, workspace=ws)

    def ours_fwd_bwd():
        ours_fwd()
        k.backward(layout, opts, buf, grad, grad, gamma, beta, var, dgamma,
                   dbeta, workspace=ws)

    xt = x.clone().requires_grad_(True)
    wt = gamma.clone().requires_grad_(True)
    bt = beta.clone().requires_grad_(True)

    def torch_fwd():
        with torch.no_grad():
            F.leaky_relu(F.batch_norm(x, rm, rv, gamma, beta, True, 0.1,
                                      1e-5), SLOPE)

    def torch_fwd_bwd():
        y = F.leaky_relu(F.batch_norm(xt, rm, rv, wt, bt, True, 0.1, 1e-5),
                         SLOPE)
        torch.autograd.grad(y, (xt, wt, bt), dz)

    bytes_ = x.numel() * x.element_size()
    result = {"shape": list(shape), "dtype": str(dtype)[6:],
              "layout": "nhwc" if channels_last else "nchw",
              "bytes": bytes_}
    for name, fn in (("ours_fwd_bwd", ours_fwd_bwd), ("ours_fwd", ours_fwd),
                     ("torch_fwd_bwd", torch_fwd_bwd),
                     ("torch_fwd", torch_fwd)):
        result[name] = timed(fn)
    del xt, wt, bt
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lib", nargs="?")
    parser.add_argument("--json")
    args = parser.parse_args()
    k = ig.Kernels(args.lib)
    torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name()
    copy = copy_bandwidth()
    print(f"device: {name}, torch {torch.__version__}")
    print(f"device-to-device copy: {copy / 1e9:.0f} GB/s")
    print("| shape | layout | dtype | ours fwd+bwd ms | GB/s | % copy | "
          "torch fwd+bwd ms | torch/ours | ours fwd ms | GB/s | % copy | "
          "torch fwd ms | torch/ours |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    results = []
    for shape in SHAPES:
        for channels_last in (False, True):
            for dtype in DTYPES:
                r = bench_case(k, shape, dtype, channels_last)
                results.append(r)
                bw8 = 8 * r["bytes"] / r["ours_fwd_bwd"]
                bw3 = 3 * r["bytes"] / r["ours_fwd"]
                print(f"| {tuple(shape)} | {r['layout']} | {r['dtype']} | "
                      f"{r['ours_fwd_bwd'] * 1e3:.3f} | {bw8 / 1e9:.0f} | "
                      f"{100 * bw8 / copy:.0f} | "
                      f"{r['torch_fwd_bwd'] * 1e3:.3f} | "
                      f"{r['torch_fwd_bwd'] / r['ours_fwd_bwd']:.2f} | "
                      f"{r['ours_fwd'] * 1e3:.3f} | {bw3 / 1e9:.0f} | "
                      f"{100 * bw3 / copy:.0f} | {r['torch_fwd'] * 1e3:.3f} | "
                      f"{r['torch_fwd'] / r['ours_fwd']:.2f} |", flush=True)
                torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": name, "torch": torch.__version__,
                       "copy_bytes_per_s": copy, "results": results}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
