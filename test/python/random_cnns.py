"""Random small networks for iabn.torch.convert, combining the patterns that
break naive conversions: in-place activations (ReLU/LeakyReLU/ELU/ReLU6/
SiLU with inplace=True), `out += identity` residuals, one activation module
shared by several layers, a batch norm module called twice, pre-activation
blocks (BN -> act -> conv, the input read again by the shortcut),
BatchNorm1d/2d/3d heads and bodies, eval-mode layers. Each network is
converted (verify=True) and trained one SGD step in float64 next to the
unconverted one: same loss and parameters, and the backward must run.

Usage: random_cnns.py [--seed S] [--count N]
"""

import argparse
import copy
import random
import sys

import torch
from torch import nn

ACTS = [lambda: nn.LeakyReLU(0.1), lambda: nn.LeakyReLU(0.01, inplace=True),
        lambda: nn.ELU(0.5), lambda: nn.ELU(1.0, inplace=True),
        lambda: nn.ReLU(inplace=True), lambda: nn.ReLU6(inplace=True),
        lambda: nn.SiLU(inplace=True), lambda: nn.Identity()]


class Block(nn.Module):
    def __init__(self, rng, dim, c):
        super().__init__()
        conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dim]
        bn = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dim]
        self.kind = rng.choice(["plain", "residual", "preact", "shared",
                                "twice"])
        self.conv1 = conv(c, c, 3, padding=1, bias=False)
        self.bn1 = bn(c)
        self.conv2 = conv(c, c, 1, bias=False)
        self.bn2 = bn(c)
        self.act1 = rng.choice(ACTS)()
        self.act2 = self.act1 if self.kind == "shared" else rng.choice(ACTS)()
        self.add_inplace = rng.random() < 0.6

    def forward(self, x):
        if self.kind == "preact":
            h = self.act1(self.bn1(x))
            h = self.conv2(self.act2(self.bn2(self.conv1(h))))
            return h + x
        h = self.act1(self.bn1(self.conv1(x)))
        if self.kind == "twice":
            h = self.act1(self.bn1(self.conv1(h)))
        h = self.bn2(self.conv2(h))
        if self.kind in ("residual", "shared"):
            if self.add_inplace:
                h += x
            else:
                h = h + x
        return self.act2(h)


class Net(nn.Module):
    def __init__(self, rng):
        super().__init__()
        self.dim = rng.choice([1, 2, 2, 3])
        conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[self.dim]
        c = rng.choice([3, 4])
        self.stem = conv(2, c, 3, padding=1)
        self.blocks = nn.Sequential(*[Block(rng, self.dim, c)
                                      for _ in range(rng.choice([1, 2, 3]))])
        self.head_bn = nn.BatchNorm1d(c) if rng.random() < 0.5 else None
        self.head_act = rng.choice(ACTS)()
        self.fc = nn.Linear(c, 3)

    def example(self, rng):
        spatial = {1: (6,), 2: (4, 4), 3: (3, 3, 2)}[self.dim]
        return torch.randn(rng.choice([2, 3]), 2, *spatial)

    def forward(self, x):
        h = self.blocks(self.stem(x))
        h = h.flatten(2).mean(-1)
        if self.head_bn is not None:
            h = self.head_act(self.head_bn(h))
        return self.fc(h)


def check(seed):
    """Converts and trains one random network; returns a failure or None."""
    from iabn.torch import convert
    rng = random.Random(seed)
    torch.manual_seed(seed)
    net = Net(rng)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                # |gamma| >= eps (the BN-exact range), random signs.
                m.weight.copy_(torch.empty_like(m.weight).uniform_(0.5, 1.5)
                               * torch.randint(0, 2, m.weight.shape) * 2 - 1)
                m.bias.uniform_(-0.5, 0.5)
    if rng.random() < 0.2:
        net.blocks[0].bn2.eval()  # a layer in eval mode inside training
    x = net.example(rng)
    reference = copy.deepcopy(net).double()
    try:
        converted, result = convert(net.double(), x.double(), verbose=False)
    except Exception as error:
        return f"seed {seed}: convert raised {type(error).__name__}: {error}"
    losses, params = [], []
    for m in (reference, converted):
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        try:
            loss = m(x.double().clone()).square().mean()
            loss.backward()
        except RuntimeError as error:
            return f"seed {seed}: training raised {error}"
        opt.step()
        losses.append(loss.item())
        params.append(dict(m.named_parameters()))
    if abs(losses[0] - losses[1]) > 1e-9 * max(1.0, abs(losses[0])):
        return f"seed {seed}: loss {losses[0]} vs {losses[1]}"
    for name, p in params[0].items():
        if not torch.allclose(p, params[1][name], rtol=1e-7, atol=1e-9):
            return f"seed {seed}: parameter {name} differs after one step"
    return None, len(result.replaced), len(result.left_alone)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=60)
    args = parser.parse_args()
    failures, converted, left = [], 0, 0
    for k in range(args.count):
        outcome = check(args.seed * 100000 + k)
        if isinstance(outcome, str):
            failures.append(outcome)
        else:
            converted += outcome[1]
            left += outcome[2]
    print(f"random networks: {args.count} networks, {converted} batch norms "
          f"converted, {left} left alone, {len(failures)} failures")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
