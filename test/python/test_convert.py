"""iabn.torch.convert: the compiler's decisions applied to a model."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from iabn.torch import InPlaceABN, convert


def test_convert_replaces_in_place_chains_and_keeps_results():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.LeakyReLU(0.1),
        nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 4, 1), nn.BatchNorm2d(4), nn.ELU(0.5)).double()
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(-2, 2)
                m.bias.uniform_(-1, 1)
    reference = copy.deepcopy(model)
    reference_params = dict(model.named_parameters())
    reference_buffers = dict(model.named_buffers())
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    converted, result = convert(model, x, verbose=False)
    kinds = [type(m).__name__ for m in converted]
    # leaky_relu and elu chains fused; relu (not invertible) left alone.
    assert kinds == ["Conv2d", "InPlaceABN", "Identity", "Conv2d",
                     "BatchNorm2d", "ReLU", "Conv2d", "InPlaceABN", "Identity"]
    assert converted[1].activation == "leaky_relu"
    assert converted[7].activation == "elu"
    assert converted[7].activation_param == 0.5
    assert converted[1].weight.dtype == torch.float64
    # The batch norm's own parameters and buffers, not copies.
    assert converted[1].weight is reference_params["1.weight"]
    assert converted[1].running_var is reference_buffers["1.running_var"]
    assert result.replaced == [("1", "leaky_relu"), ("7", "elu")]
    # Same forward values and gradients as the original model.
    xa = x.clone().requires_grad_()
    xb = x.clone().requires_grad_()
    za, zb = converted(xa), reference(xb)
    assert torch.allclose(za, zb, atol=1e-12)
    g = torch.randn_like(za)
    assert torch.allclose(torch.autograd.grad(za, xa, g)[0],
                          torch.autograd.grad(zb, xb, g)[0], atol=1e-10)


def test_convert_leaves_bn_whose_input_is_reused():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)
            self.bn = nn.BatchNorm2d(4)
            self.act = nn.LeakyReLU(0.01)

        def forward(self, x):
            h = self.conv(x)
            # h is read again after the batch norm: no in-place write.
            return self.act(self.bn(h)) + h

    torch.manual_seed(0)
    model = Residual().double()
    reference = copy.deepcopy(model)
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    converted, result = convert(model, x, verbose=False)
    # Fused (the backward keeps only z) but not in place: h is still needed.
    assert isinstance(converted.bn, InPlaceABN)
    assert not converted.bn.inplace
    assert isinstance(converted.act, nn.Identity)
    assert result.plan == [{"bn": "bn", "activation": "leaky_relu",
                            "param": 0.01, "inplace": False,
                            "absorbed": "act"}]
    xa = x.clone().requires_grad_()
    xb = x.clone().requires_grad_()
    za, zb = converted(xa), reference(xb)
    assert torch.allclose(za, zb, atol=1e-12)
    g = torch.randn_like(za)
    ga = torch.autograd.grad(za, [xa] + list(converted.parameters()), g)
    gb = torch.autograd.grad(zb, [xb] + list(reference.parameters()), g)
    for a, b in zip(ga, gb):
        assert torch.allclose(a, b, atol=1e-10)
    assert "z does not overwrite x" in result.remarks[0].message


def test_convert_wide_resnet38_matches_the_benchmark_plan():
    """The decisions on WideResNet-38 (A2 blocks, width / 16 to stay small):
    every batch norm fused; in place except the first of each identity
    block, whose input is the residual shortcut. The full-width plan in
    bench/plans/wrn38.json must say the same."""
    import importlib.util
    import json
    import os
    bench = os.path.join(os.path.dirname(__file__), "..", "..", "bench")
    spec = importlib.util.spec_from_file_location(
        "iabn_bench_models", os.path.join(bench, "models.py"))
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    torch.manual_seed(0)
    model = models.build("wrn38", "bn", width=1 / 16, classes=10).double()
    reference = copy.deepcopy(model)
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    converted, result = convert(model, x, verbose=False)
    plan = {p["bn"]: p for p in result.plan}
    blocks = [m for m in reference.modules()
              if isinstance(m, models.IdentityResidualBlock)]
    assert len(blocks) == 17 and len(plan) == 37
    names = {id(m): n for n, m in reference.named_modules()}
    for block in blocks:
        name = names[id(block)]
        assert plan[name + ".bn1.0"]["inplace"] == (block.proj_conv
                                                     is not None)
        for inner in ("convs.1.0", "convs.3.0"):
            if name + "." + inner in plan:
                assert plan[name + "." + inner]["inplace"]
    with open(os.path.join(bench, "plans", "wrn38.json")) as f:
        full = json.load(f)
    assert [(p["bn"], p["inplace"]) for p in full["replaced"]] == \
        [(p["bn"], p["inplace"]) for p in result.plan]
    converted.eval()
    reference.eval()
    assert torch.allclose(converted(x), reference(x), atol=1e-10)
