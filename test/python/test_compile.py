"""InPlaceABN inside torch.compile: the custom operators (iabn::*) pass
torch.library.opcheck, a compiled model matches eager nn.BatchNorm2d +
activation without graph breaks, and the compiled training graph saves z
(never x) for the backward. Needs PyTorch >= 2.4 (torch.library.custom_op);
skipped on older versions (Debian's 1.13 in CI) with the reason."""

import pytest
import torch
import torch.nn.functional as F

from iabn.torch import InPlaceABN
from iabn.torch import _ops

pytestmark = pytest.mark.skipif(
    not _ops.HAS_CUSTOM_OP or not hasattr(torch, "compile"),
    reason=f"PyTorch {torch.__version__} has no torch.library.custom_op")


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Every test compiles new modules: start from an empty dynamo cache so
    that the recompile limit counts this test only."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


# Double backward through the layer is not supported (its backward operator
# has no autograd formula), so opcheck's AOT-dispatch checks, which
# differentiate the backward, are left out; test_compiled_* cover AOT.
OPCHECK = ("test_schema", "test_autograd_registration", "test_faketensor")


def _model(norm, c=8):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, c, 3, padding=1),
                               norm, torch.nn.Conv2d(c, 4, 1)).double()


def _reference(act, p):
    return {"leaky_relu": torch.nn.LeakyReLU(p), "elu": torch.nn.ELU(p),
            "identity": torch.nn.Identity()}[act]


@pytest.mark.parametrize("training", [True, False])
def test_opcheck(training):
    x = torch.randn(4, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    w = torch.linspace(-1, 1, 3, dtype=torch.float64).requires_grad_()
    b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3,
                                                            dtype=torch.float64)
    args = (x, w, b, rm, rv, training, 1e-5, "leaky_relu", 0.1, "sign_clamp")
    torch.library.opcheck(torch.ops.iabn.inplace_abn_forward, args,
                          test_utils=OPCHECK)
    z, _, var = torch.ops.iabn.inplace_abn_forward(*args)
    torch.library.opcheck(
        torch.ops.iabn.inplace_abn_backward,
        (z.detach(), torch.randn_like(z), w, b, var, training, 1e-5,
         "leaky_relu", 0.1, "sign_clamp"), test_utils=OPCHECK)


@pytest.mark.parametrize("act,p", [("leaky_relu", 0.01), ("elu", 0.5),
                                   ("identity", 0.0)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_compiled_matches_batchnorm(act, p, momentum):
    ours = _model(InPlaceABN(8, activation=act, activation_param=p,
                             momentum=momentum, gamma_mode="sign_clamp"))
    ref = _model(torch.nn.Sequential(torch.nn.BatchNorm2d(8,
                                                          momentum=momentum),
                                     _reference(act, p)))
    compiled = torch.compile(ours, backend="aot_eager", fullgraph=True)
    # Three steps: the cumulative average's factors 1, 1/2, 1/3 (the last
    # is inexact in float32; it must be computed in float64).
    for step in range(3):
        x = torch.randn(4, 3, 6, 6, dtype=torch.float64) + step
        za, zb = compiled(x), ref(x)
        assert torch.allclose(za, zb, atol=1e-10)
        za.square().sum().backward()
        zb.square().sum().backward()
    for a, b in zip(ours.parameters(), ref.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-9)
    norm = ours[1]
    assert torch.allclose(norm.running_mean, ref[1][0].running_mean,
                          atol=1e-12)
    assert torch.allclose(norm.running_var, ref[1][0].running_var,
                          atol=1e-12)
    ours.eval()
    ref.eval()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    assert torch.allclose(compiled(x), ref(x), atol=1e-10)


def _saved_full_size(norm, x):
    """Full-size tensors the compiled forward keeps for the backward."""
    from torch._dynamo.backends.common import aot_autograd

    saved = []

    def forward_compiler(gm, example_inputs):
        out = [n for n in gm.graph.nodes if n.op == "output"][0]
        values = out.args[0]
        for node in values:
            val = getattr(node, "meta", {}).get("val")
            if isinstance(val, torch.Tensor) and val.numel() == x.numel():
                saved.append((node.op, str(node.target)))
        return gm.forward

    backend = aot_autograd(fw_compiler=forward_compiler,
                           bw_compiler=lambda gm, _: gm.forward)
    m = torch.compile(norm.double(), backend=backend, fullgraph=True)
    m(x.clone().requires_grad_()).sum().backward()
    return saved


def test_compiled_graph_saves_z_not_x():
    x = torch.randn(4, 6, 5, 5, dtype=torch.float64)
    ours = _saved_full_size(InPlaceABN(6, activation="leaky_relu",
                                           gamma_mode="sign_clamp"), x)
    theirs = _saved_full_size(torch.nn.Sequential(torch.nn.BatchNorm2d(6),
                                                  torch.nn.LeakyReLU(0.01)),
                              x)
    # Forward outputs: z itself plus what the backward keeps. Ours: z (the
    # operator's output) and detached aliases of it, never the input x (a
    # graph input, "placeholder"). BatchNorm + activation keeps x.
    assert all(op != "placeholder" for op, _ in ours), ours
    assert {target for op, target in ours if op == "call_function"} <= {
        "<built-in function getitem>", "aten.detach.default"}, ours
    assert any(op == "placeholder" for op, _ in theirs), theirs
