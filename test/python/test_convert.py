"""iabn.torch.convert: the compiler's decisions applied to a model."""

import copy
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from iabn.torch import InPlaceABN, convert
from iabn.torch.convert import ConversionError


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


# --- Safety of the conversion: writes, shared modules, verification --------

class _Block(nn.Module):
    """A residual block written as torchvision writes it: one activation
    module used twice, `out += identity` on the second batch norm's output,
    activations with inplace=True."""

    def __init__(self, act):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.relu = act

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return self.relu(out)


def _train_step_matches(model, x):
    """One SGD step of the converted model against the unconverted one, in
    float64: same loss, gradients and parameters."""
    reference = copy.deepcopy(model).double()
    converted, result = convert(model.double(), x.double(), verbose=False)
    losses = []
    for m in (reference, converted):
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        loss = m(x.double().clone()).square().mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert abs(losses[0] - losses[1]) <= 1e-9 * max(1.0, abs(losses[0]))
    for (na, pa), (nb, pb) in zip(reference.named_parameters(),
                                  converted.named_parameters()):
        assert na == nb and torch.allclose(pa, pb, atol=1e-9), na
    return converted, result


def test_convert_output_written_in_place_is_left_alone():
    torch.manual_seed(1)
    model = _Block(nn.LeakyReLU(0.1))
    converted, result = _train_step_matches(model, torch.randn(2, 4, 6, 6))
    reasons = dict(result.left_alone)
    # out += x writes bn2's output: bn2 stays a BatchNorm2d, with the writer.
    assert isinstance(converted.bn2, nn.BatchNorm2d)
    assert "written in place later by aten.add_" in reasons["bn2"]
    # The LeakyReLU module is also called after the residual add: it cannot
    # be absorbed into bn1.
    assert isinstance(converted.bn1, nn.BatchNorm2d)
    assert "also called elsewhere" in reasons["bn1"]


def test_convert_switches_inplace_activation_writers_out_of_place():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                          nn.ReLU6(inplace=True), nn.Conv2d(4, 4, 1),
                          nn.BatchNorm2d(4), nn.SiLU(inplace=True))
    converted, result = _train_step_matches(model, torch.randn(2, 3, 5, 5))
    # BN -> ReLU6/SiLU is an identity chain for the compiler; the activation
    # wrote the fused layer's output in place: now out of place.
    assert isinstance(converted[1], InPlaceABN)
    assert converted[2].inplace is False and converted[5].inplace is False
    assert sorted(result.out_of_place_writers) == ["2", "5"]


def test_convert_batch_norm_called_twice():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)
            self.bn = nn.BatchNorm2d(3)
            self.act = nn.LeakyReLU(0.2)

        def forward(self, x):
            h = self.act(self.bn(self.conv(x)))
            return self.act(self.bn(h * 2.0)) + h

    torch.manual_seed(3)
    converted, result = _train_step_matches(Twice(), torch.randn(4, 3, 4, 4))
    # Converted only if every call site agrees; never a different model
    # (the training step above matches either way).
    if isinstance(converted.bn, InPlaceABN):
        assert converted.bn.inplace is False or all(
            p["inplace"] for p in result.plan)


def test_convert_verify_names_the_first_differing_layer():
    # |gamma| < eps: the BN-exact gamma rule differs from BatchNorm there,
    # so the converted model is not the same model and convert says so.
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                          nn.LeakyReLU(0.1), nn.Conv2d(4, 2, 1))
    with torch.no_grad():
        model[1].weight.zero_()
    with pytest.raises(ConversionError, match="from layer '2'"):
        convert(model, torch.randn(2, 3, 4, 4), verbose=False)
    # verify=False keeps the result.
    model2 = copy.deepcopy(model)
    converted, _ = convert(model2, torch.randn(2, 3, 4, 4), verbose=False,
                           verify=False)
    assert isinstance(converted[1], InPlaceABN)


def test_double_backward_and_integer_inputs_raise():
    layer = InPlaceABN(3, activation="leaky_relu", inplace=False).double()
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    z = layer(x)
    (g,) = torch.autograd.grad(z.square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for iabn::inplace_abn_backward is not implemented"):
        g.sum().backward()
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.ones(4, 3, 2, 2, dtype=torch.int64))


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_convert_torchvision_models_train(name):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(4)
    model = getattr(torchvision.models, name)(num_classes=5)
    x = torch.randn(2, 3, 32, 32)
    converted, result = convert(model, x, verbose=False)
    converted(x.clone()).sum().backward()


def test_revert_gives_batchnorm_and_activation_with_the_same_forward():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                          nn.LeakyReLU(0.1), nn.Conv2d(4, 4, 1),
                          nn.BatchNorm2d(4), nn.ELU(0.5)).double()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    converted, _ = convert(model, x, verbose=False)
    converted(x.clone())  # one training step of statistics
    converted.eval()
    expected = converted(x.clone())
    from iabn.torch import revert
    plain = revert(converted)
    kinds = [type(m).__name__ for m in plain]
    assert kinds == ["Conv2d", "BatchNorm2d", "LeakyReLU", "Conv2d",
                     "BatchNorm2d", "ELU"]
    assert torch.allclose(plain(x.clone()), expected, atol=1e-12)
    traced = torch.jit.trace(plain, x)
    assert torch.allclose(traced(x.clone()), expected, atol=1e-12)


def test_tracing_scripting_and_leaf_inputs_give_clear_errors():
    layer = InPlaceABN(3)
    x = torch.randn(2, 3, 4, 4)
    with pytest.raises(RuntimeError, match="revert"):
        torch.jit.trace(layer, x)
    with pytest.raises(RuntimeError, match="revert"):
        torch.jit.script(layer)
    leaf = torch.randn(2, 3, 4, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="inplace=False"):
        layer(leaf)
    import io
    with pytest.raises(RuntimeError, match="revert"):
        torch.onnx.export(nn.Sequential(nn.Conv2d(3, 3, 1), layer).eval(),
                          x, io.BytesIO())


# --- Found in review ----------------------------------------------------------

def test_view_whose_base_is_read_later_is_not_overwritten():
    class Slice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 1)
            self.bn = nn.BatchNorm2d(4)
            self.act = nn.LeakyReLU(0.1)

        def forward(self, x):
            a = self.conv(x)
            return torch.cat([a, self.act(self.bn(a[:, :4]))], 1)

    torch.manual_seed(6)
    converted, _ = _train_step_matches(Slice(), torch.randn(2, 3, 4, 4))
    # aten.slice returns a view of a: z must not overwrite it.
    assert isinstance(converted.bn, InPlaceABN) and not converted.bn.inplace


def test_other_normalizations_do_not_shift_call_sites():
    torch.manual_seed(7)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.InstanceNorm2d(4),
                          nn.BatchNorm2d(4), nn.Conv2d(4, 4, 1),
                          nn.BatchNorm2d(4), nn.LeakyReLU(0.1))
    converted, result = _train_step_matches(model, torch.randn(2, 3, 4, 4))
    assert isinstance(converted[4], InPlaceABN)
    assert converted[4].activation == "leaky_relu"


def test_module_registered_under_two_names():
    class Alias(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.bn = nn.BatchNorm2d(4)
            self.norm = self.bn
            self.act = nn.LeakyReLU(0.1)

        def forward(self, x):
            return self.act(self.norm(self.conv(x)))

    torch.manual_seed(8)
    converted, _ = _train_step_matches(Alias(), torch.randn(2, 3, 4, 4))
    assert converted.bn is converted.norm


def test_failed_verification_leaves_the_model_unconverted():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                          nn.LeakyReLU(0.1), nn.Conv2d(4, 2, 1))
    with torch.no_grad():
        model[1].weight.zero_()
    with pytest.raises(ConversionError, match="left unconverted"):
        convert(model, torch.randn(2, 3, 4, 4), verbose=False)
    assert [type(m).__name__ for m in model] == [
        "Conv2d", "BatchNorm2d", "LeakyReLU", "Conv2d"]


def _saved_bytes(model, x):
    """Activation bytes autograd keeps in one forward (the library's own
    measure: each storage once, parameters excluded, a recomputed z counted
    as its y)."""
    from iabn.torch.recompute import saved_bytes
    return saved_bytes(model, x)


def _assert_trains_alike(reference, converted, x, steps=2):
    """Same training steps as the unconverted model: outputs, input and
    parameter gradients, running statistics, `steps` steps in a row."""
    for _ in range(steps):
        xa = x.clone().requires_grad_()
        xb = x.clone().requires_grad_()
        ya, yb = reference(xa), converted(xb)
        g = torch.randn_like(ya)
        ya.backward(g)
        yb.backward(g)
        torch.testing.assert_close(yb, ya)
        torch.testing.assert_close(xb.grad, xa.grad)
        for (name, pa), pb in zip(reference.named_parameters(),
                                  converted.parameters()):
            torch.testing.assert_close(pb.grad, pa.grad, msg=name)
            pa.grad = pb.grad = None
        for (name, ba), bb in zip(reference.named_buffers(),
                                  converted.buffers()):
            torch.testing.assert_close(bb, ba, msg=name)


def test_convert_store_y_keeps_one_tensor_per_bn_relu():
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16),
        nn.ReLU(inplace=True), nn.Conv2d(16, 16, 3, padding=1),
        nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 4, 1)).double()
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(-2, 2)  # negative gammas too
                m.bias.uniform_(-1, 1)
    x = torch.randn(4, 3, 12, 12, dtype=torch.float64)
    reference = copy.deepcopy(model)
    before = _saved_bytes(copy.deepcopy(model), x.clone())
    # Without the option relu chains stay as they are.
    plain, _ = convert(copy.deepcopy(model), x, verbose=False)
    assert [type(m).__name__ for m in plain][1:3] == ["BatchNorm2d", "ReLU"]
    converted, result = convert(model, x, verbose=False, store_y=True)
    from iabn.torch import InPlaceABNStoreY
    assert [type(m).__name__ for m in converted] == [
        "Conv2d", "InPlaceABNStoreY", "SkipIfApplied", "Conv2d",
        "InPlaceABNStoreY", "SkipIfApplied", "MaxPool2d", "Conv2d"]
    assert [p.get("strategy") for p in result.plan] == ["store-y", "store-y"]
    assert isinstance(converted[1], InPlaceABNStoreY)
    # The state dict is BatchNorm's (same keys, same tensors).
    assert set(converted.state_dict()) == set(reference.state_dict())
    # Same training step as the unconverted model: outputs, input and
    # parameter gradients, running statistics, two steps in a row.
    _assert_trains_alike(reference, converted, x)
    # Fewer bytes saved for the backward: each BN -> relu keeps y only
    # (BatchNorm keeps x and z; the next conv's and the pool's copies of z
    # are recomputed from y).
    after = _saved_bytes(converted, x.clone())
    big = 4 * 16 * 12 * 12 * 8
    assert before - after >= 2 * big
    # revert gives BatchNorm + ReLU back, hooks removed.
    from iabn.torch import revert
    reverted = revert(converted)
    assert not getattr(reverted, "_iabn_recompute_handles", None)
    kinds = [type(m).__name__ for m in reverted]
    assert kinds[1:3] == ["BatchNorm2d", "ReLU"]


@pytest.mark.parametrize("make, layout", [
    (lambda: nn.ReLU6(inplace=True), ["SkipIfApplied"]),
    (lambda: nn.Hardtanh(0.0, 6.0), ["SkipIfApplied"]),
    (lambda: nn.SiLU(inplace=True), ["Identity"]),
    (lambda: nn.GELU(), ["Identity"]),
    (lambda: nn.Hardswish(inplace=True), ["Identity"]),
])
def test_convert_store_y_other_activations(make, layout):
    # relu6, silu, gelu, hardswish: y is the one tensor kept per pair, the
    # training step is the unconverted model's, revert gives it back.
    torch.manual_seed(4)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), make(),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), make(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3)).double()
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(-2, 2)
                m.bias.uniform_(-1, 1)
    x = torch.randn(4, 3, 10, 10, dtype=torch.float64) * 3
    reference = copy.deepcopy(model)
    before = _saved_bytes(copy.deepcopy(model), x.clone())
    # Without the option: an identity InPlaceABN (y over x), the activation
    # left where it is, out of place.
    plain, plain_result = convert(copy.deepcopy(model), x, verbose=False)
    assert [type(m).__name__ for m in plain][1] == "InPlaceABN"
    assert plain[1].activation == "identity"
    assert getattr(plain[2], "inplace", False) is False
    converted, result = convert(model, x, verbose=False, store_y=True)
    kind = result.plan[0]["activation"]
    assert [p.get("strategy") for p in result.plan] == ["store-y"] * 2
    assert [p["activation"] for p in result.plan] == [kind] * 2
    assert [type(m).__name__ for m in converted][1:3] == \
        ["InPlaceABNStoreY"] + layout
    _assert_trains_alike(reference, converted, x)
    # BatchNorm + activation keep x and y (or z), and the first pair's z is
    # saved once more by the next convolution; store-y keeps y only (4 such
    # tensors fewer here). Without the recompute of z from y only the two
    # x's would go: the bound fails then.
    after = _saved_bytes(converted, x.clone())
    big = 4 * 8 * 10 * 10 * 8
    assert before - after >= 3 * big
    from iabn.torch import revert
    reverted = revert(converted)
    assert [type(m) for m in reverted][1:3] == \
        [nn.BatchNorm2d, type(reference[2])]


@pytest.mark.parametrize("store_y", [False, True])
def test_apply_plan_reproduces_convert_with_inplace_activations(store_y):
    # A saved plan carries the activation modules convert switched out of
    # place: applied to a fresh model it trains as convert's model does
    # (an in-place ReLU6 writing the layer's saved output would fail).
    from iabn.torch.convert import apply_plan
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8),
        nn.ReLU6(inplace=True), nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8),
        nn.SiLU(inplace=True), nn.Conv2d(8, 4, 1)).double()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64) * 4
    _, result = convert(copy.deepcopy(model), x, verbose=False,
                        store_y=store_y)
    plan = json.loads(json.dumps(result.plan))
    assert any(e.get("out_of_place") for e in plan)
    applied = apply_plan(copy.deepcopy(model), plan)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    model(xa).backward(g)
    applied(xb).backward(g)
    torch.testing.assert_close(xb.grad, xa.grad)
    for (name, pa), pb in zip(model.named_parameters(),
                              applied.parameters()):
        torch.testing.assert_close(pb.grad, pa.grad, msg=name)


def test_store_y_leaves_a_shared_silu_alone():
    # silu is not idempotent: a module called after two batch norms and
    # elsewhere cannot be absorbed; the batch norms are left with a reason.
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)
            self.c2 = nn.Conv2d(4, 4, 1)
            self.act = nn.SiLU()

        def forward(self, x):
            return self.act(self.c2(self.act(self.b1(self.c1(x)))))

    model = Net().double()
    converted, result = convert(model, torch.randn(2, 3, 5, 5,
                                                   dtype=torch.float64),
                                verbose=False, store_y=True)
    assert type(converted.b1) is nn.BatchNorm2d
    assert any("shared" in reason for _, reason in result.left_alone)


def test_store_y_recomputes_only_unchanged_outputs():
    # A z written in place before it is saved is saved as it is.
    from iabn.torch import InPlaceABNStoreY
    from iabn.torch.recompute import recompute_saved_outputs

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = InPlaceABNStoreY(6, nn.ReLU(), inplace=False)
            self.conv = nn.Conv2d(6, 6, 1)

        def forward(self, x):
            z = self.bn(x)
            z.mul_(2.0)  # changes z after the layer: not recomputable
            return self.conv(z)

    torch.manual_seed(2)
    net = Net().double()
    recompute_saved_outputs(net)
    reference = copy.deepcopy(net)
    from iabn.torch.recompute import remove_recompute_hooks
    remove_recompute_hooks(reference)
    x = torch.randn(3, 6, 5, 5, dtype=torch.float64)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    reference(xa).sum().backward()
    net(xb).sum().backward()
    torch.testing.assert_close(xb.grad, xa.grad)
    torch.testing.assert_close(net.conv.weight.grad,
                               reference.conv.weight.grad)


def test_convert_store_y_with_a_shared_relu():
    # torchvision's blocks call one ReLU module after each batch norm and
    # after the residual add: the relu stays shared, skipped on the store-y
    # layers' outputs.
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            out += x
            return self.relu(out)

    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8),
                          nn.ReLU(inplace=True), Block(), Block()).double()
    x = torch.randn(2, 3, 10, 10, dtype=torch.float64)
    reference = copy.deepcopy(model)
    before = _saved_bytes(copy.deepcopy(model), x.clone())
    converted, result = convert(model, x, verbose=False, store_y=True)
    stored = [p["bn"] for p in result.plan if p.get("strategy") == "store-y"]
    assert stored == ["1", "3.bn1", "4.bn1"]
    assert type(converted[3].relu).__name__ == "SkipIfApplied"
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = torch.randn(2, 8, 10, 10, dtype=torch.float64)
    reference(xa).backward(g)
    converted(xb).backward(g)
    torch.testing.assert_close(xb.grad, xa.grad)
    for (name, pa), pb in zip(reference.named_parameters(),
                              converted.parameters()):
        torch.testing.assert_close(pb.grad, pa.grad, msg=name)
    after = _saved_bytes(converted, x.clone())
    assert after < before


def test_store_y_hooks_keep_autograd_checks_and_free_dropped_graphs():
    # The hooks must keep autograd's in-place check (a saved tensor written
    # afterwards raises) and must not keep a dropped graph alive.
    import gc
    import weakref
    from iabn.torch.recompute import recompute_saved_outputs

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            s = torch.sigmoid(self.bn(x))  # sigmoid saves its output
            s.mul_(2.0)  # ... which is then overwritten
            return s

    net = Net().double()
    recompute_saved_outputs(net)
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        net(x).sum().backward()
    # A graph dropped without a backward is freed (exp saves its output).
    class Exp(nn.Module):
        def forward(self, t):
            return t.exp()

    model = Exp()
    recompute_saved_outputs(model)
    out = model(x)
    ref = weakref.ref(out)
    del out
    gc.collect()
    assert ref() is None


def test_store_y_forward_that_raises_leaves_no_hooks_behind():
    from iabn.torch.recompute import recompute_saved_outputs

    class Failing(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    model = Failing()
    recompute_saved_outputs(model)
    with pytest.raises(ValueError):
        model(torch.ones(1))
    model.forward = lambda x: x  # the next call cleans up any stale hooks
    model(torch.ones(1))
    assert not model.__dict__.get("_iabn_hook_stack")
    a = torch.randn(3, dtype=torch.float64, requires_grad=True)
    b = a.exp()
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace"):
        b.sum().backward()


def test_apply_plan_refuses_a_plan_for_another_model():
    from iabn.torch.convert import apply_plan
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.GELU())
    plan = [{"bn": "1", "activation": "relu", "param": 0.0, "inplace": True,
             "absorbed": "2", "strategy": "store-y"}]
    with pytest.raises(ValueError, match="not the relu module"):
        apply_plan(model, plan)
    with pytest.raises(ValueError, match="not a BatchNorm"):
        apply_plan(model, [dict(plan[0], bn="0")])


def test_verification_failure_on_a_tiny_example_says_why():
    """A refusal names the batch norm that saw few values per channel on
    the example (2 here: such a batch norm amplifies rounding differences;
    efficientnet_b0 on a 32x32 example ends in 1x1 planes and was refused
    for 1e-6 differences in float64), and efficientnet_b0 converts on a
    64x64 example."""
    from iabn.torch.convert import verify_conversion
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4),
                          nn.LeakyReLU(0.1), nn.Conv2d(4, 2, 1))
    x = torch.randn(2, 3, 1, 1)
    converted, _ = convert(copy.deepcopy(model), x, verbose=False,
                           verify=False)
    # A negative tolerance makes every comparison fail: the message is what
    # is tested.
    with pytest.raises(ConversionError,
                       match="batch norm '1' only 2 values per channel"):
        verify_conversion(model, converted, x, tolerance=-1.0)
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(2)
    effnet = torchvision.models.efficientnet_b0(num_classes=5)
    converted, _ = convert(effnet, torch.randn(2, 3, 64, 64), verbose=False)
    assert any(isinstance(m, InPlaceABN) for m in converted.modules())
