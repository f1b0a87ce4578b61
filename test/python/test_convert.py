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

    model = Residual()
    converted, result = convert(model, torch.randn(2, 4, 3, 3), verbose=False)
    assert isinstance(converted.bn, nn.BatchNorm2d)
    assert not isinstance(converted.bn, InPlaceABN)
    assert "z does not overwrite x" in result.remarks[0].message
