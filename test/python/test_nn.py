"""iabn.torch on the CPU: InPlaceABN against nn.BatchNorm2d + activation."""

import os

import pytest
import torch
import torch.nn.functional as F

from iabn.torch import ABN, InPlaceABN, inplace_abn

ACTS = [("leaky_relu", 0.01), ("elu", 0.7), ("identity", 0.0)]


def reference(act, p):
    return {"leaky_relu": lambda t: F.leaky_relu(t, p),
            "elu": lambda t: F.elu(t, p), "identity": lambda t: t}[act]


def pair(act, p, channels=3, **kwargs):
    kwargs.setdefault("gamma_mode", "sign_clamp")  # BatchNorm's rule
    m = InPlaceABN(channels, activation=act, activation_param=p,
                   **kwargs).double()
    bn = torch.nn.BatchNorm2d(channels, momentum=kwargs.get("momentum", 0.1)
                              ).double()
    with torch.no_grad():
        m.weight.copy_(torch.linspace(-1.5, 2.0, channels))
        m.bias.copy_(torch.linspace(-0.3, 0.4, channels))
    bn.load_state_dict(m.state_dict())
    return m, bn


@pytest.mark.parametrize("act,p", ACTS)
@pytest.mark.parametrize("channels_last", [False, True])
def test_matches_batchnorm(act, p, channels_last):
    torch.manual_seed(0)
    m, bn = pair(act, p)
    x0 = torch.randn(4, 3, 5, 6, dtype=torch.float64) * 2 + 0.5
    if channels_last:
        x0 = x0.contiguous(memory_format=torch.channels_last)
    xa = x0.clone().requires_grad_()
    xb = x0.clone().requires_grad_()
    za = m(xa * 1.0)
    zb = reference(act, p)(bn(xb))
    dz = torch.randn_like(za)
    ga = torch.autograd.grad(za, [xa, m.weight, m.bias], dz)
    gb = torch.autograd.grad(zb, [xb, bn.weight, bn.bias], dz)
    assert torch.allclose(za, zb, atol=1e-12)
    for a, b in zip(ga, gb):
        assert torch.allclose(a, b, atol=1e-10)
    assert torch.allclose(m.running_mean, bn.running_mean, atol=1e-14)
    assert torch.allclose(m.running_var, bn.running_var, atol=1e-14)


def test_writes_in_place_and_saves_only_z():
    m = InPlaceABN(3).double()
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    h = x * 1.0
    version = h._version
    z = m(h)
    assert z.data_ptr() == h.data_ptr()
    assert h._version > version
    z.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_out_of_place_keeps_x_and_saves_only_z():
    torch.manual_seed(0)
    m = InPlaceABN(3, activation="elu", activation_param=0.5,
                   inplace=False).double()
    ref = InPlaceABN(3, activation="elu", activation_param=0.5).double()
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    h = x * 1.0
    before = h.detach().clone()
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        z = m(h)
    assert z.data_ptr() != h.data_ptr()
    assert torch.equal(h.detach(), before)
    assert [t.data_ptr() for t in saved if t.numel() == z.numel()] == \
        [z.data_ptr()]
    assert torch.allclose(z, ref(h.detach().clone()), atol=1e-14)
    g = torch.autograd.grad(z, x, torch.ones_like(z))[0]
    assert torch.isfinite(g).all()


def test_cumulative_average_and_eval():
    torch.manual_seed(1)
    m, bn = pair("leaky_relu", 0.01, momentum=None)
    for _ in range(3):
        x = torch.randn(8, 3, 2, 2, dtype=torch.float64)
        m(x.clone())
        bn(x.clone())
    assert int(m.num_batches_tracked) == 3
    assert torch.allclose(m.running_mean, bn.running_mean, atol=1e-14)
    assert torch.allclose(m.running_var, bn.running_var, atol=1e-14)
    m.eval()
    bn.eval()
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    assert torch.allclose(m(x.clone()), F.leaky_relu(bn(x), 0.01),
                          atol=1e-12)


def test_state_dict_round_trip_with_batchnorm():
    bn = torch.nn.BatchNorm2d(5)
    with torch.no_grad():
        bn.weight.uniform_(-2, 2)
        bn.running_var.uniform_(0.5, 2)
    m = InPlaceABN(5)
    m.load_state_dict(bn.state_dict())
    bn2 = torch.nn.BatchNorm2d(5)
    bn2.load_state_dict(m.state_dict())
    for key, value in bn.state_dict().items():
        assert torch.equal(value, bn2.state_dict()[key])


def test_small_gamma_modes():
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    w = torch.tensor([0.0, -1e-7], dtype=torch.float64)
    b = torch.zeros(2, dtype=torch.float64)
    for mode in ("sign_clamp", "abs_plus_eps"):
        z = inplace_abn(x.clone(), w, b, gamma_mode=mode,
                        activation="identity")
        assert torch.isfinite(z).all()


def test_bfloat16_and_half_on_cpu():
    torch.manual_seed(2)
    x = torch.randn(8, 4, 3, 3)
    for dtype in (torch.bfloat16, torch.float16):
        m = InPlaceABN(4)
        z = m(x.to(dtype).clone())
        assert z.dtype == dtype
        ref = F.leaky_relu(torch.nn.BatchNorm2d(4)(x.to(dtype).float()), 0.01)
        assert (z.float() - ref).abs().max() < 5e-2


def test_errors():
    with pytest.raises(ValueError, match="relu is not"):
        InPlaceABN(3, activation="relu")
    with pytest.raises(ValueError, match="activation_param > 0"):
        InPlaceABN(3, activation="leaky_relu", activation_param=0.0)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        InPlaceABN(3)(torch.randn(1, 3))
    with pytest.raises(ValueError, match="3 channels"):
        InPlaceABN(3)(torch.randn(2, 4, 2, 2))
    with pytest.raises(ValueError, match="gamma_mode"):
        InPlaceABN(3, gamma_mode="abs")


def test_abn_supports_relu():
    m = ABN(3, activation="relu")
    assert (m(torch.randn(4, 3, 2, 2)) >= 0).all()


def test_official_defaults_and_state_dicts():
    # The official package's rule by default: |gamma| + eps.
    m = InPlaceABN(3)
    assert m.gamma_mode == "abs_plus_eps"
    # A state dict without num_batches_tracked (the official package's)
    # loads strictly; the counter starts at 0.
    state = {k: v for k, v in InPlaceABN(3).state_dict().items()
             if k != "num_batches_tracked"}
    state["weight"] = torch.tensor([-1.0, 0.5, 2.0])
    m.load_state_dict(state, strict=True)
    assert int(m.num_batches_tracked) == 0
    # ... and with it.
    m.load_state_dict(InPlaceABN(3).state_dict(), strict=True)
    m.eval()
    x = torch.randn(2, 3, 2, 2, dtype=torch.float64)
    m = m.double()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([-1.0, 0.5, 2.0]))
    expected = F.leaky_relu(
        (x - m.running_mean.view(1, -1, 1, 1)) /
        torch.sqrt(m.running_var.view(1, -1, 1, 1) + m.eps) *
        (m.weight.abs() + m.eps).view(1, -1, 1, 1) +
        m.bias.view(1, -1, 1, 1), 0.01)
    assert torch.allclose(m(x.clone()), expected, atol=1e-12)


def test_sync_without_process_group_warns_and_set_group():
    from iabn.torch import InPlaceABNSync
    m = InPlaceABNSync(3)
    assert m.set_group(None) is m
    with pytest.warns(RuntimeWarning, match="process group"):
        m(torch.randn(4, 3, 2, 2))


def test_empty_batch_behaves_as_batchnorm():
    for training in (True, False):
        m = InPlaceABN(3, gamma_mode="sign_clamp").train(training)
        bn = torch.nn.BatchNorm2d(3).train(training)
        x = torch.randn(0, 3, 4, 4)
        assert m(x.clone()).shape == bn(x.clone()).shape == (0, 3, 4, 4)


def _raises_and_leaves(f, tensors, match, error=RuntimeError):
    """f() raises `error` matching `match`, and every tensor in `tensors` is
    unchanged afterwards (a rejected call writes nothing)."""
    before = [t.detach().clone() for t in tensors]
    with pytest.raises(error, match=match):
        f()
    for t, b in zip(tensors, before):
        assert torch.equal(t.detach(), b)


def test_rejected_inplace_writes_change_nothing():
    """PyTorch's in-place checks run before the layer writes: a leaf that
    requires grad, a view of one, a view from a multi-output op, a layer
    with a full backward hook (its input is a custom Function's view)."""
    torch.manual_seed(0)
    rm, rv = torch.zeros(3), torch.ones(3)
    leaf = torch.randn(4, 3, 2, 2, requires_grad=True)
    _raises_and_leaves(lambda: inplace_abn(leaf, None, None, rm, rv),
                       [leaf, rm, rv], "leaf Variable that requires grad")
    _raises_and_leaves(lambda: InPlaceABN(3)(leaf[1:]), [leaf],
                       "view of a leaf Variable")
    a, _ = torch.nn.Conv2d(3, 6, 1)(torch.randn(2, 3, 4, 4)).chunk(2, 1)
    _raises_and_leaves(lambda: InPlaceABN(3)(a), [a],
                       "returns multiple views")
    hooked = InPlaceABN(3)
    hooked.register_full_backward_hook(lambda *args: None)
    y = torch.nn.Conv2d(3, 3, 1)(torch.randn(2, 3, 4, 4))
    _raises_and_leaves(lambda: hooked(y), [y], "is a view and is being "
                       "modified inplace")


@pytest.mark.parametrize("case", ["weight4", "weight1", "bias0d", "var_none",
                                  "meta_weight"])
def test_bad_layer_tensors_are_refused_before_writing(case):
    torch.manual_seed(0)
    x = torch.randn(4, 3, 2, 2)
    rm, rv = torch.zeros(3), torch.ones(3)
    args = {"weight4": (torch.ones(4), None, rm, rv),
            "weight1": (torch.ones(1), None, rm, rv),
            "bias0d": (None, torch.tensor(0.5), rm, rv),
            "var_none": (None, None, rm, None),
            "meta_weight": (torch.ones(3, device="meta"), None, rm, rv)}[case]
    error, match = (RuntimeError, "expected all tensors on cpu") \
        if case == "meta_weight" else (ValueError, "should contain 3|both")
    _raises_and_leaves(lambda: inplace_abn(x, *args), [x, rm, rv], match,
                       error)


def test_operators_check_their_tensors():
    """The operators called directly: devices and sizes of dz and var."""
    ops = torch.ops.iabn
    x = torch.randn(4, 3, 2, 2)
    z, _, var = ops.inplace_abn_forward(x, None, None, None, None, True,
                                        1e-5, "leaky_relu", 0.01, "sign_clamp")
    conf = (True, 1e-5, "leaky_relu", 0.01, "sign_clamp")
    with pytest.raises(RuntimeError, match="dz is on meta"):
        ops.inplace_abn_backward(z, torch.ones_like(z, device="meta"), None,
                                 None, var, *conf)
    with pytest.raises(ValueError, match="var should contain 3"):
        ops.inplace_abn_backward(z, torch.ones_like(z), None, None, var[:2],
                                 *conf)
    with pytest.raises(ValueError, match="dz has shape"):
        ops.inplace_abn_backward(z, torch.ones(4, 3, 2, 1), None, None, var,
                                 *conf)
    with pytest.raises(RuntimeError, match="weight is on meta"):
        ops.inplace_abn_forward(x, torch.ones(3, device="meta"), None, None,
                                None, True, 1e-5, "leaky_relu", 0.01,
                                "sign_clamp")


@pytest.mark.parametrize("eps", [0.0, -1e-5, float("nan")])
def test_non_positive_eps_is_refused(eps):
    x = torch.randn(4, 3, 2, 2)
    _raises_and_leaves(lambda: inplace_abn(x, None, None, eps=eps), [x],
                       "eps must be > 0", ValueError)


def test_operators_built_for_another_torch_are_refused_clearly(tmp_path):
    """A libiabn_torch.so that does not load here (built for another torch,
    or damaged) gives an ImportError that says how to rebuild, not a bare
    loader error."""
    import subprocess
    import sys
    (tmp_path / "libiabn_torch.so").write_bytes(b"not a shared library")
    python = os.path.join(os.path.dirname(__file__), "..", "..", "python")
    result = subprocess.run(
        [sys.executable, "-c", "import iabn.torch"], capture_output=True,
        text=True, env=dict(os.environ, IABN_LIB_DIR=str(tmp_path),
                            PYTHONPATH=python))
    assert result.returncode != 0
    assert "ImportError: iabn.torch cannot load its native operators" in \
        result.stderr
    assert "--no-build-isolation" in result.stderr
