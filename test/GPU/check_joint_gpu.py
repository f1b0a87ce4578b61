#!/usr/bin/env python3
"""IABN's torch.compile backend on a CUDA GPU against stock inductor.

For each model and setting: three copies of one model run the same
training steps: the float64 model eagerly (the truth), one compiled with
torch.compile(backend="inductor") and one with iabn.torch.backend(), both
fullgraph (no graph break). The backend's error (outputs, parameter
gradients, running statistics) must be at most twice stock inductor's, or
below the dtype's floor, and the backend must have fused batch norms. Settings: f32 NCHW, f32
channels_last, bf16 autocast, dynamic batch sizes, mode="reduce-overhead"
(CUDA graphs). Prints one line per case and "N failures"; exit status 1 on
any failure.
"""

import copy
import os
import sys

import torch
from torch import nn

import iabn.torch

# An error of the backend passes when it is at most RATIO times stock
# inductor's on the same case (both measured against float64 eager), or
# below the dtype's floor.
RATIO = 2.0
FLOOR = {"f32": 1e-5, "bf16": 1e-2}
# The CPU runs the same cases (slowly; reference operators) for debugging.
DEVICE = os.environ.get("IABN_CHECK_DEVICE", "cuda")


class Net(nn.Module):
    """Every chain kind: leaky_relu and elu (in place), relu and silu
    (store-y), identity before a residual add."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.b1 = nn.Sequential(nn.BatchNorm2d(16), nn.LeakyReLU(0.01))
        self.c1 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.b2 = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.c2 = nn.Conv2d(16, 32, 1, bias=False)
        self.b3 = nn.BatchNorm2d(32)
        self.short = nn.Conv2d(16, 32, 1, bias=False)
        self.b4 = nn.Sequential(nn.BatchNorm2d(32), nn.SiLU())
        self.c3 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.b5 = nn.Sequential(nn.BatchNorm2d(32), nn.ELU())
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        x = self.b1(self.stem(x))
        y = self.b3(self.c2(self.b2(self.c1(x)))) + self.short(x)
        y = self.b5(self.c3(self.b4(y)))
        return self.head(y.mean((2, 3)))


def build(name):
    torch.manual_seed(0)
    if name == "net":
        model = Net()
    else:
        import torchvision
        model = getattr(torchvision.models, name)(num_classes=10)
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.p = 0.0
        if isinstance(m, nn.BatchNorm2d):  # gammas away from 0
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return model.to(DEVICE)


def take_grads(model, sums):
    """Adds each parameter's gradient to sums and frees it (outputs of a
    CUDA graph are overwritten by its next replay: nothing may accumulate
    into them across steps)."""
    for name, p in model.named_parameters():
        if p.grad is not None:
            sums[name] = sums.get(name, 0) + p.grad.detach().clone()
            p.grad = None


def errors(model, grad_sums, truth, outs, ref_outs):
    """Largest error of outputs, parameter gradients and running statistics
    against the float64 model; each tensor's error is relative to its own
    scale, or to 1% of the largest gradient when that is larger (a sum of
    gradients that cancels, e.g. the bias of a batch norm that feeds
    another batch norm, is ~0 in every precision)."""
    def rel(a, b, floor=0.0):
        scale = max(b.abs().max().item(), floor, 1e-12)
        return (a.double() - b).abs().max().item() / scale
    grads = [(n, b.grad) for n, b in truth.named_parameters()]
    g = max(t.abs().max().item() for _, t in grads)
    worst = max((rel(a, b), "output") for a, b in zip(outs, ref_outs))
    for n, b in grads:
        worst = max(worst, (rel(grad_sums[n], b, 0.01 * g), n + ".grad"))
    for a, (n, b) in zip(model.buffers(), truth.named_buffers()):
        if a.is_floating_point():
            worst = max(worst, (rel(a, b), n))
    return worst


def case(name, dtype="f32", channels_last=False, dynamic=False, mode=None,
         size=32):
    truth = build(name)
    models = {"inductor": copy.deepcopy(truth), "iabn": copy.deepcopy(truth)}
    truth = truth.double()
    if channels_last:
        models = {k: m.to(memory_format=torch.channels_last)
                  for k, m in models.items()}
    sites = []
    kwargs = {"fullgraph": True, "dynamic": True if dynamic else None}
    if mode:
        kwargs["mode"] = mode
    compiled = {
        "inductor": torch.compile(models["inductor"], backend="inductor",
                                  **kwargs),
        "iabn": torch.compile(models["iabn"], backend=iabn.torch.backend(
            record=sites), **kwargs)}
    outs = {k: [] for k in compiled}
    grad_sums = {k: {} for k in compiled}
    ref_outs = []
    batches = (4, 6, 4) if dynamic else (4, 4, 4)
    for step, batch in enumerate(batches):
        torch.manual_seed(step)
        x = torch.randn(batch, 3, size, size, device=DEVICE)
        if channels_last:
            x = x.to(memory_format=torch.channels_last)
        out = truth(x.double())
        out.square().mean().backward()
        ref_outs.append(out.detach())
        for key, model in compiled.items():
            if mode == "reduce-overhead":  # two models take turns
                torch.compiler.cudagraph_mark_step_begin()
            with torch.autocast(DEVICE, dtype=torch.bfloat16,
                                enabled=dtype == "bf16"):
                out = model(x)
            out.float().square().mean().backward()
            outs[key].append(out.detach().clone())
            take_grads(models[key], grad_sums[key])
    err = {k: errors(models[k], grad_sums[k], truth, outs[k], ref_outs)
           for k in compiled}
    fused = sum(s.applied for s in sites)
    ok = err["iabn"][0] <= max(RATIO * err["inductor"][0], FLOOR[dtype]) \
        and fused > 0
    print(f"{'ok  ' if ok else 'FAIL'} {name} {dtype} "
          f"{'channels_last' if channels_last else 'NCHW'}"
          f"{' dynamic' if dynamic else ''}{' ' + mode if mode else ''}: "
          f"error vs float64: iabn {err['iabn'][0]:.2e} ({err['iabn'][1]}), "
          f"inductor {err['inductor'][0]:.2e} ({err['inductor'][1]}); fused "
          f"{fused}/{len(sites)}", flush=True)
    torch._dynamo.reset()
    return ok


def main():
    cases = [dict(name="net"), dict(name="net", channels_last=True),
             dict(name="net", dtype="bf16"),
             dict(name="net", dtype="bf16", channels_last=True),
             dict(name="net", dynamic=True),
             dict(name="net", mode="reduce-overhead"),
             dict(name="resnet18", size=64),
             dict(name="resnet18", dtype="bf16", size=64),
             dict(name="mobilenet_v2", size=64)]
    if len(sys.argv) > 1:
        cases = [cases[int(i)] for i in sys.argv[1:]]
    failures = 0
    for kwargs in cases:
        try:
            failures += not case(**kwargs)
        except Exception as e:  # report and go on
            failures += 1
            print(f"FAIL {kwargs}: {type(e).__name__}: "
                  f"{str(e).splitlines()[0][:300]}", flush=True)
            torch._dynamo.reset()
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
