"""GPU check of store-y (InPlaceABNStoreY + saved-tensor recompute): a
torchvision model converted with its saved store_y plan
(bench/plans/tv_<model>.json) against the unconverted model in float64, one
training step each (outputs, input and parameter gradients): the converted
model in float64 equal to rounding (the identity layer runs the torch
reference there), and in float32 on the generated kernels, eager and
compiled, within 2x of BatchNorm's own float32 error.
Usage: python3 test/GPU/check_store_y_gpu.py [--models resnet50,mobilenet_v2]"""

import argparse
import copy
import json
import os
import sys

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python"))


def step(model, x, g):
    x = x.clone().requires_grad_()
    out = model(x)
    out.backward(g)
    grads = [p.grad.detach().clone() for p in model.parameters()]
    return out.detach(), x.grad, grads, [b.clone() for b in model.buffers()]


def error(a, b, floor=1e-12):
    """max |a - b| / max |b|, with max |b| floored: a gradient that is zero
    in exact arithmetic (a parameter whose effect a batch norm removes)
    holds rounding noise only, which no two float64 computations share."""
    return ((a.double() - b.double()).abs().max() /
            b.double().abs().max().clamp(min=floor)).item()


def main():
    import torchvision
    from iabn.torch.convert import apply_plan
    parser = argparse.ArgumentParser()
    parser.add_argument("--models",
                        default="resnet50,densenet121,mobilenet_v2,efficientnet_b0")
    args = parser.parse_args()
    # Full float32 convolutions: TF32 would bury the comparison in its own
    # rounding (BatchNorm's float32 error reaches ~0.9 with it).
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    failures = 0
    for name in args.models.split(","):
        with open(os.path.join(ROOT, "bench", "plans", f"tv_{name}.json")) as f:
            plan = json.load(f)["store_y"]
        torch.manual_seed(0)
        base = getattr(torchvision.models, name)(num_classes=10)
        # No dropout or stochastic depth: the runs compared would draw
        # different masks.
        for m in base.modules():
            if isinstance(m, (torch.nn.Dropout,
                              torchvision.ops.StochasticDepth)):
                m.p = 0.0
        x = torch.randn(8, 3, 96, 96, device="cuda", dtype=torch.float64)
        g = torch.randn(8, 10, device="cuda", dtype=torch.float64)
        exact = step(copy.deepcopy(base).to("cuda", torch.float64).train(),
                     x, g)

        # Parameter gradients: each against its own scale, floored at 1e-6
        # of the largest one.
        floor = 1e-6 * max(p.abs().max().item() for p in exact[2])

        def worst(result):
            return max([error(result[0], exact[0]),
                        error(result[1], exact[1])] +
                       [error(q, p, floor)
                        for p, q in zip(exact[2], result[2])])

        # float64: the converted model equals the original to rounding.
        conv64 = apply_plan(copy.deepcopy(base).to("cuda", torch.float64),
                            plan).train()
        cases = [("float64", worst(step(conv64, x, g)), 1e-9)]
        # float32 (the generated kernels), eager and compiled: within 2x
        # of BatchNorm's own float32 error against float64.
        x32, g32 = x.float(), g.float()
        bn32 = worst(step(copy.deepcopy(base).to("cuda").train(), x32, g32))
        for compiled in (False, True):
            conv = apply_plan(copy.deepcopy(base).to("cuda"), plan).train()
            run = torch.compile(conv) if compiled else conv
            label = "float32" + (" compiled" if compiled else "")
            cases.append((label, worst(step(run, x32, g32)),
                          2 * bn32 + 1e-3))
        for label, err, tol in cases:
            ok = err <= tol
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {name} {label}: worst "
                  f"relative error vs float64 {err:.3g} (tolerance "
                  f"{tol:.3g}; BatchNorm float32: {bn32:.3g})", flush=True)
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
