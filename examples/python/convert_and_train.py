#!/usr/bin/env python3
"""From a plain PyTorch model to InPlace-ABN, automatically.

A small pre-activation residual network (nn.BatchNorm2d + nn.LeakyReLU) is
converted by iabn.torch.convert, which exports the training step, runs the
compiler's InPlace-ABN rewrite on it and swaps in InPlaceABN wherever the
compiler fused a chain: in place, or writing z to a new tensor where the
input is still needed by the residual shortcut. The remarks say what was
decided and why. Both models then train side by side: same losses, and the
compiler's memory report gives the bytes no longer saved for the backward.

Runs on the CPU (any PyTorch >= 1.13) or on a CUDA GPU (the compiler-
generated kernels). From the repository, after the build:

    IABN_LIB_DIR=build/lib PYTHONPATH=python python3 examples/python/convert_and_train.py
"""

import copy

import torch
from torch import nn

from iabn.torch import InPlaceABN, convert


def norm_act(channels):
    return nn.Sequential(nn.BatchNorm2d(channels), nn.LeakyReLU(0.01))


class PreActBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.bn1 = norm_act(channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = norm_act(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, x):
        # x is read again by the residual add, after bn1.
        return x + self.conv2(self.bn2(self.conv1(self.bn1(x))))


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False),
                         PreActBlock(16), PreActBlock(16), norm_act(16),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, 10))


def main():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    reference = make_model().to(device)
    model = copy.deepcopy(reference)
    example = torch.randn(4, 3, 16, 16, device=device)

    model, result = convert(model, example.cpu() if device == "cuda"
                            else example)
    layers = [m for m in model.modules() if isinstance(m, InPlaceABN)]
    print(f"InPlaceABN layers: {len(layers)} "
          f"({sum(m.inplace for m in layers)} in place)")
    before = result.memory_reports["before"]["functions"][0]["saved_bytes"]
    after = result.memory_reports["after"]["functions"][0]["saved_bytes"]
    print(f"saved for the backward at batch {example.shape[0]}: {before} -> "
          f"{after} bytes ({100 * (after - before) / before:+.1f}%)")

    torch.manual_seed(1)
    data = [(torch.randn(8, 3, 16, 16, device=device),
             torch.randint(0, 10, (8,), device=device)) for _ in range(3)]
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.1)
                  for m in (reference, model)]
    for step, (x, y) in enumerate(data):
        losses = []
        for m, opt in zip((reference, model), optimizers):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        print(f"step {step}: loss BatchNorm2d {losses[0]:.6f}, "
              f"InPlace-ABN {losses[1]:.6f}")
    same = all(torch.allclose(a, b, atol=1e-4) for a, b in
               zip(reference.state_dict().values(),
                   model.state_dict().values()))
    print(f"same parameters and running statistics after training: {same}")


if __name__ == "__main__":
    main()
