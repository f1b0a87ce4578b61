"""Model-zoo check of iabn.torch.convert on the CPU: every torchvision
classification model that has BatchNorm (or a subset), with its ReLU-family
activations optionally swapped for LeakyReLU, is converted (verify=True:
float64 forward + backward against the original), then one SGD step of the
converted model and of the unconverted one (float64) must give the same loss
and parameters. Prints, per model, the conversion counts (in place / out of
place / left alone, with the reasons) and the bytes saved for the backward
before and after the rewrite of the exported training step.

With --store-y the conversion also gives the batch norms followed by a
non-invertible activation (relu, relu6, silu, gelu, hardswish) the store-y
strategy, and the bytes autograd itself keeps for the backward (one forward
of the PyTorch model, each storage once) are printed before and after.

Usage: model_zoo.py [--models all|ci|NAME,NAME...] [--leaky] [--store-y]
                    [--size S]
Exits non-zero if any model fails.
"""

import argparse
import collections
import copy
import sys
import time
import traceback

import torch
from torch import nn

CI_MODELS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small",
             "efficientnet_b0", "shufflenet_v2_x0_5", "mnasnet0_5",
             "regnet_x_400mf", "densenet121", "resnext50_32x4d"]
ALL_MODELS = [
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2",
    "wide_resnet101_2", "densenet121", "densenet161", "densenet169",
    "densenet201", "mobilenet_v2", "mobilenet_v3_small",
    "mobilenet_v3_large", "efficientnet_b0", "efficientnet_b1",
    "efficientnet_b2", "efficientnet_b3", "efficientnet_b4",
    "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
    "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
    "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_y_400mf",
    "regnet_y_800mf", "regnet_y_1_6gf", "mnasnet0_5", "mnasnet0_75",
    "mnasnet1_0", "mnasnet1_3", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
    "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "googlenet", "inception_v3",
    "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]


def build(name, leaky):
    import torchvision
    kwargs = {"num_classes": 10}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    model = getattr(torchvision.models, name)(**kwargs)
    if leaky:
        for module in list(model.modules()):
            for child_name, child in module.named_children():
                if isinstance(child, (nn.ReLU, nn.ReLU6, nn.SiLU,
                                      nn.Hardswish)):
                    # Out of place: an in-place LeakyReLU followed by an
                    # in-place Dropout (mobilenet_v3's classifier) would
                    # make the model itself untrainable.
                    setattr(module, child_name, nn.LeakyReLU(0.01))
    return model


def has_batch_norm(model):
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm)
               for m in model.modules())


def train_step_matches(reference, converted, x):
    """One SGD step of both models in float64: (equal?, loss difference)."""
    losses, models = [], []
    torch.manual_seed(0)
    target = None
    for m in (reference, converted):
        m = copy.deepcopy(m).double().train()
        opt = torch.optim.SGD(m.parameters(), lr=0.01)
        with torch.random.fork_rng():
            torch.manual_seed(1)
            out = m(x.double().clone())
        if target is None:
            target = torch.randn(out.shape, dtype=out.dtype,
                                 generator=torch.Generator().manual_seed(2))
        loss = (out - target).square().mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        models.append(m)
    same = abs(losses[0] - losses[1]) <= 1e-9 * max(1.0, abs(losses[0]))
    pb = dict(models[1].named_parameters())
    for name, p in models[0].named_parameters():
        if name not in pb or not torch.allclose(p, pb[name], rtol=1e-7,
                                                atol=1e-9):
            same = False
    return same, abs(losses[0] - losses[1])


def saved_bytes(result, label):
    reports = result.memory_reports.get(label, {}).get("functions", [])
    return reports[0].get("saved_bytes") if reports else None


def main():
    from iabn.torch import InPlaceABN, convert
    from iabn.torch.recompute import saved_bytes as autograd_bytes
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="ci")
    parser.add_argument("--leaky", action="store_true",
                        help="swap ReLU/ReLU6/SiLU/Hardswish for LeakyReLU")
    parser.add_argument("--store-y", action="store_true",
                        help="convert(..., store_y=True)")
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    names = {"ci": CI_MODELS, "all": ALL_MODELS}.get(
        args.models, args.models.split(","))
    failures = 0
    for name in names:
        start = time.time()
        torch.manual_seed(0)
        try:
            model = build(name, args.leaky)
        except (AttributeError, TypeError) as error:
            print(f"{name}: not in this torchvision ({error})")
            continue
        if not has_batch_norm(model):
            continue
        size = max(args.size, 80) if name == "inception_v3" else args.size
        x = torch.randn(2, 3, size, size)
        reference = copy.deepcopy(model)
        try:
            converted, result = convert(model, x, verbose=False,
                                        store_y=args.store_y)
            same, diff = train_step_matches(reference, converted, x)
            if args.store_y:
                eval_ref = copy.deepcopy(reference).train()
                kept = (autograd_bytes(eval_ref, x.clone()),
                        autograd_bytes(converted, x.clone()))
        except Exception as error:  # report and go on with the next model
            failures += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}")
            traceback.print_exc(limit=3)
            continue
        layers = [m for m in converted.modules() if isinstance(m, InPlaceABN)]
        in_place = sum(m.inplace for m in layers)
        reasons = collections.Counter(
            r.split(" (")[0].split(" by aten")[0].split(" '")[0]
            for _, r in result.left_alone)
        before, after = saved_bytes(result, "before"), \
            saved_bytes(result, "after")
        print(f"{name}: {len(layers)} converted ({in_place} in place, "
              f"{len(layers) - in_place} out of place), "
              f"{len(result.left_alone)} left alone, "
              f"{len(result.out_of_place_writers)} writers made out of place; "
              f"saved for backward {before} -> {after} B; one SGD step "
              f"{'matches' if same else 'DIFFERS'} (loss diff {diff:.2g}); "
              f"{time.time() - start:.0f} s")
        if args.store_y:
            stored = sum(p.get("strategy") == "store-y" for p in result.plan)
            print(f"    store-y x{stored}; autograd keeps {kept[0]} -> "
                  f"{kept[1]} B ({100 * (kept[1] / kept[0] - 1):+.1f}%)")
        for reason, count in sorted(reasons.items()):
            print(f"    left alone x{count}: {reason}")
        if not same:
            failures += 1
            print(f"FAIL {name}: the converted model trains differently")
    print(f"model zoo: {len(names)} models, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
