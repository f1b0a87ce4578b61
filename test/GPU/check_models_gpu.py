"""Whole networks on the GPU: ResNet-50 and WideResNet-38 (bench/models.py)
after iabn.torch.convert's plan (bench/plans/) and the same networks with
nn.BatchNorm2d + LeakyReLU, both against the BatchNorm2d network in float64:
every parameter gradient of one training step, fp32 (TF32 off) and bf16
autocast. InPlace-ABN must be as accurate as PyTorch's layers (within 2x of
their worst and median error). Prints one line per case and a summary;
exits non-zero on any failure."""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import models  # noqa: E402

def step(model, x, target, precision):
    # Dropout off: its masks depend on the dtype (float64 truth).
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout2d):
            m.eval()
    with torch.autocast("cuda", dtype=torch.bfloat16,
                        enabled=precision == "bf16"):
        loss = torch.nn.functional.cross_entropy(model(x), target)
    loss.backward()
    return float(loss.detach()), [p.grad for p in model.parameters()]


def rel_errors(got, truth):
    return [float((a.double() - b).abs().max()) / max(
        1e-300, float(b.abs().max())) for a, b in zip(got, truth)]


def main():
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    failures = 0
    for name, batch in (("resnet50", 16), ("wrn38", 8)):
        with open(os.path.join(HERE, "..", "..", "bench", "plans",
                               f"{name}.json")) as f:
            plan = json.load(f)
        g = torch.Generator(device="cuda").manual_seed(2)
        x = torch.randn(batch, 3, 224, 224, device="cuda", generator=g)
        target = torch.randint(0, 1000, (batch,), device="cuda",
                               generator=g)
        # The truth: the BatchNorm2d network in float64.
        torch.manual_seed(0)
        truth = models.build(name, "bn").cuda().double()
        _, gt = step(truth, x.double(), target, "fp64")
        gt = [t.double() for t in gt]
        del truth
        for precision in ("fp32", "bf16"):
            torch.manual_seed(0)
            ref = models.build(name, "bn").cuda()
            torch.manual_seed(0)
            ours = models.apply_plan(models.build(name, "bn"), plan).cuda()
            la, ga = step(ours, x, target, precision)
            lb, gb = step(ref, x, target, precision)
            ea, eb = rel_errors(ga, gt), rel_errors(gb, gt)
            # As accurate as PyTorch's own layers, against the float64
            # network: worst and median parameter-gradient error within
            # 2x of BatchNorm2d's (deep BN networks amplify rounding: the
            # backward of each BN subtracts nearly equal terms).
            ok = max(ea) <= 2 * max(eb) + 1e-6 and \
                sorted(ea)[len(ea) // 2] <= 2 * sorted(eb)[len(eb) // 2] + 1e-6
            failures += not ok
            print(("ok  " if ok else "FAIL") + f" {name} {precision} batch "
                  f"{batch}: parameter-gradient error vs float64: InPlace-ABN"
                  f" worst {max(ea):.2g} median {sorted(ea)[len(ea) // 2]:.2g}"
                  f"; BatchNorm2d worst {max(eb):.2g} median "
                  f"{sorted(eb)[len(eb) // 2]:.2g} (loss {la:.6f} vs "
                  f"{lb:.6f})", flush=True)
    print(f"model cases, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
