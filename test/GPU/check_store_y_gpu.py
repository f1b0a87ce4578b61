"""GPU check of store-y (InPlaceABNStoreY + saved-tensor recompute): a
torchvision model converted with its saved store_y plan
(bench/plans/tv_<model>.json) against the unconverted model, one training
step each: in float64 (outputs, input and parameter gradients, running
statistics; the identity layer runs the torch reference), in float32 on the
generated kernels, and compiled (torch.compile) in float32.
Usage: python3 test/GPU/check_store_y_gpu.py [--models resnet50,densenet121]"""

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


def error(a, b):
    return ((a.double() - b.double()).abs().max() /
            b.double().abs().max().clamp(min=1e-12)).item()


def main():
    import torchvision
    from iabn.torch.convert import apply_plan
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="resnet50,densenet121")
    args = parser.parse_args()
    failures = 0
    for name in args.models.split(","):
        with open(os.path.join(ROOT, "bench", "plans", f"tv_{name}.json")) as f:
            plan = json.load(f)["store_y"]
        for dtype, tol, compiled in ((torch.float64, 1e-9, False),
                                     (torch.float32, 2e-3, False),
                                     (torch.float32, 2e-3, True)):
            torch.manual_seed(0)
            ref = getattr(torchvision.models, name)(num_classes=10)
            ref = ref.to("cuda", dtype).train()
            conv = apply_plan(copy.deepcopy(ref), plan)
            run = torch.compile(conv) if compiled else conv
            x = torch.randn(8, 3, 96, 96, device="cuda", dtype=dtype)
            g = torch.randn(8, 10, device="cuda", dtype=dtype)
            a, b = step(ref, x, g), step(run, x, g)
            worst = max([error(b[0], a[0]), error(b[1], a[1])] +
                        [error(q, p) for p, q in zip(a[2], b[2])] +
                        [error(q, p) for p, q in zip(a[3], b[3])
                         if p.is_floating_point()])
            label = (f"{name} {str(dtype).split('.')[-1]}"
                     f"{' compiled' if compiled else ''}")
            ok = worst <= tol
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {label}: worst relative "
                  f"difference {worst:.3g} (tolerance {tol})", flush=True)
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
