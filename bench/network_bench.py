#!/usr/bin/env python3
"""Network-level benchmark (not a test, GPU machine): a ResNet-50 training
step (SGD, batch B, 224x224) with nn.BatchNorm2d + LeakyReLU(0.01) against
iabn.torch.InPlaceABN(leaky_relu 0.01) on the compiler-generated kernels:
peak memory (torch.cuda.max_memory_allocated) and median step time, fp32 and
bf16 autocast, in the same run.

Usage: python3 bench/network_bench.py [--batch 64] [--steps 10]
"""

import argparse
import os
import statistics
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from iabn.torch import InPlaceABN  # noqa: E402


def norm_act(kind, channels, activation="leaky_relu"):
    if kind == "iabn":
        return InPlaceABN(channels, activation=activation,
                          activation_param=0.01)
    layers = [nn.BatchNorm2d(channels)]
    if activation == "leaky_relu":
        layers.append(nn.LeakyReLU(0.01))
    return nn.Sequential(*layers)


class Bottleneck(nn.Module):
    def __init__(self, kind, cin, mid, stride):
        super().__init__()
        cout = mid * 4
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = norm_act(kind, mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn2 = norm_act(kind, mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = norm_act(kind, cout, activation="identity")
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False),
                norm_act(kind, cout, activation="identity"))
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x):
        shortcut = x if self.down is None else self.down(x)
        y = self.bn1(self.conv1(x))
        y = self.bn2(self.conv2(y))
        y = self.bn3(self.conv3(y))
        return self.act(y + shortcut)


class ResNet50(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False),
                                  norm_act(kind, 64), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for mid, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2),
                                    (512, 3, 2)):
            for i in range(blocks):
                layers.append(Bottleneck(kind, cin, mid,
                                         stride if i == 0 else 1))
                cin = mid * 4
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1000)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(
            x, 1), 1))


def run(kind, batch, steps, autocast):
    torch.manual_seed(0)
    model = ResNet50(kind).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(batch, 3, 224, 224, device="cuda")
    target = torch.randint(0, 1000, (batch,), device="cuda")
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    peak = torch.cuda.max_memory_allocated()
    del model, opt
    torch.cuda.empty_cache()
    return peak, statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}"
          f", ResNet-50 batch {args.batch} 224x224, SGD step")
    print("| precision | layer | peak memory GiB | step ms |")
    print("|---|---|---|---|")
    for autocast in (False, True):
        results = {}
        for kind in ("bn", "iabn"):
            results[kind] = run(kind, args.batch, args.steps, autocast)
            peak, ms = results[kind]
            print(f"| {'bf16 autocast' if autocast else 'fp32'} | "
                  f"{'BatchNorm2d+LeakyReLU' if kind == 'bn' else 'InPlaceABN'}"
                  f" | {peak / 2**30:.2f} | {ms:.1f} |", flush=True)
        (pb, tb), (pi, ti) = results["bn"], results["iabn"]
        print(f"| {'bf16' if autocast else 'fp32'} | InPlaceABN vs BN | "
              f"{100 * (pi - pb) / pb:+.1f}% | {100 * (ti - tb) / tb:+.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
