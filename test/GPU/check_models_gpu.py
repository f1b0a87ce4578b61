"""Whole networks on the GPU: ResNet-50 and WideResNet-38 (bench/models.py)
after iabn.torch.convert's plan (bench/plans/) against the same networks
with nn.BatchNorm2d + LeakyReLU: loss and every parameter gradient of one
training step, fp32 (TF32 off) and bf16 autocast. Prints one line per case
and a summary; exits non-zero on any failure."""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import models  # noqa: E402

# Relative to the largest gradient entry of each parameter; deep networks
# amplify the layers' rounding differences, bf16 most.
TOL = {"fp32": 2e-3, "bf16": 1e-1}


def step(model, x, target, precision):
    torch.manual_seed(1)  # the same dropout masks in both networks
    with torch.autocast("cuda", dtype=torch.bfloat16,
                        enabled=precision == "bf16"):
        loss = torch.nn.functional.cross_entropy(model(x), target)
    loss.backward()
    return float(loss), [p.grad.float() for p in model.parameters()]


def main():
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    failures = 0
    for name, batch in (("resnet50", 16), ("wrn38", 8)):
        with open(os.path.join(HERE, "..", "..", "bench", "plans",
                               f"{name}.json")) as f:
            plan = json.load(f)
        for precision in ("fp32", "bf16"):
            torch.manual_seed(0)
            ref = models.build(name, "bn").cuda()
            torch.manual_seed(0)
            ours = models.apply_plan(models.build(name, "bn"), plan).cuda()
            g = torch.Generator(device="cuda").manual_seed(2)
            x = torch.randn(batch, 3, 224, 224, device="cuda", generator=g)
            target = torch.randint(0, 1000, (batch,), device="cuda",
                                   generator=g)
            la, ga = step(ours, x, target, precision)
            lb, gb = step(ref, x, target, precision)
            errors = [float((a - b).abs().max()) / max(
                1e-12, float(b.abs().max())) for a, b in zip(ga, gb)]
            worst = max(errors)
            loss_err = abs(la - lb) / abs(lb)
            ok = worst <= TOL[precision] and loss_err <= TOL[precision]
            failures += not ok
            print(("ok  " if ok else "FAIL") + f" {name} {precision} batch "
                  f"{batch}: loss {la:.6f} vs {lb:.6f}, worst parameter-"
                  f"gradient error {worst:.2g} over {len(errors)} "
                  f"parameters, median {sorted(errors)[len(errors) // 2]:.2g}",
                  flush=True)
    print(f"model cases, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
