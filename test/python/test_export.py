"""iabn.torch.export: a PyTorch training step imported into IABN IR, then
rewritten by the InPlace-ABN pipeline."""

import torch
from torch import nn

from iabn import compiler
from iabn.torch.export import export_training_step, memory_report


def small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.LeakyReLU(0.01),
        nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 4, 1), nn.BatchNorm2d(4), nn.ELU())


def test_export_maps_bn_and_activations():
    ir = export_training_step(small_cnn(), torch.randn(2, 3, 8, 8))
    assert ir.count("iabn.batch_norm_train ") == 3
    assert ir.count("iabn.batch_norm_train_grad ") == 3
    assert "iabn.activation <leaky_relu" in ir
    assert "iabn.activation_grad <relu>" in ir
    assert "{iabn.gradient}" in ir
    # Every other op is a typed stand-in; the IR verifies.
    assert "func.call @aten_convolution_default" in ir
    compiler.run(ir, "builtin.module(canonicalize)")


def test_memory_report_of_a_model():
    result = memory_report(small_cnn(), torch.randn(2, 3, 8, 8))
    messages = [r.message for r in result.remarks]
    assert sum(m.startswith("inplace:") for m in messages) == 2
    # BN -> relu (not invertible): the compiler stores y instead.
    assert any(m.startswith("store-y: activation #iabn.activation<relu>")
               for m in messages)
    assert {d["strategy"] for d in result.decisions} == {"inplace",
                                                         "store-y"}
    before = result.memory_reports["before"]["functions"][0]["saved_bytes"]
    after = result.memory_reports["after"]["functions"][0]["saved_bytes"]
    assert after < before


def test_residual_block_exports():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(4)

        def forward(self, x):
            y = nn.functional.leaky_relu(self.bn1(self.conv1(x)), 0.1)
            return nn.functional.relu(self.bn2(self.conv2(y)) + x)

    result = memory_report(Block(), torch.randn(2, 4, 6, 6))
    assert "iabn.inplace_abn " in result.ir


def test_inplace_relu_is_an_activation():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                          nn.ReLU(inplace=True), nn.Conv2d(4, 2, 1))
    ir = export_training_step(model, torch.randn(2, 3, 4, 4))
    assert "iabn.activation <relu>" in ir
    assert "iabn.activation_grad <relu>" in ir


def test_inplace_relu_gradient_reads_the_output():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                          nn.ReLU(inplace=True))
    result = memory_report(model, torch.randn(2, 3, 4, 4))
    assert "mismatched" not in result.remarks[0].message


def _torchvision():
    import pytest
    return pytest.importorskip("torchvision")


def test_torchvision_resnet50_and_densenet121():
    """torchvision's ReLU networks (Debian's python3-torchvision in CI):
    every batch norm and its backward are found; the identity BNs before
    ResNet-50's residual adds are fused; the relu chains are left alone
    (relu is not invertible, and z is needed by the next convolution)."""
    tv = _torchvision()
    x = torch.randn(2, 3, 64, 64)
    r = memory_report(tv.models.resnet50(), x)
    kinds = [m.message.split(":")[0] for m in r.remarks]
    assert len(kinds) == 53
    assert kinds.count("inplace") == 20  # bn3 and downsample BNs
    before = r.memory_reports["before"]["functions"][0]["saved_bytes"]
    after = r.memory_reports["after"]["functions"][0]["saved_bytes"]
    assert after <= before
    d = memory_report(tv.models.densenet121(), x)
    assert len(d.remarks) == 121
    assert not any(m.message.startswith("inplace") for m in d.remarks)
