"""IABN's torch.compile backend (iabn.torch.backend, backend="iabn"): the
compiler's rewrite of AOTAutograd's joint graph. Each test runs the model
eagerly with nn.BatchNorm2d (the truth) and compiled with the backend on
generated inputs, and compares outputs, parameter gradients and running
statistics; the saved-tensor test reads the partitioned forward graph.
Needs PyTorch >= 2.4 (skipped on CI's Debian 1.13; scripts/test_torch2.sh
runs it against torch 2.x). Most tests use inductor=False (AOTAutograd with
eager kernels: the same joint graph and pass, without inductor's slow CPU
compile); test_inductor runs the whole backend."""

import copy
import operator

import pytest
import torch
from torch import nn

from iabn.torch import _ops

pytestmark = pytest.mark.skipif(
    not _ops.HAS_CUSTOM_OP or not hasattr(torch, "compile"),
    reason=f"PyTorch {torch.__version__} has no torch.compile custom ops")

if _ops.HAS_CUSTOM_OP:
    from iabn.torch import backend, explain
    from iabn.torch import joint


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


class Net(nn.Module):
    """Every chain kind: leaky_relu and elu (inplace), relu, relu6, silu,
    gelu, hardswish (store-y), identity before a residual add, a batch norm
    without affine parameters, and an activation module used twice."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.chains = nn.ModuleList()
        for act in (nn.LeakyReLU(0.1), nn.ELU(0.7), nn.ReLU(inplace=True),
                    nn.ReLU6(), nn.SiLU(), nn.GELU(), nn.Hardswish()):
            self.chains.append(nn.Sequential(nn.Conv2d(8, 8, 3, padding=1),
                                             nn.BatchNorm2d(8), act))
        self.plain = nn.BatchNorm2d(8, affine=False)
        self.res = nn.BatchNorm2d(8)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        x = self.stem(x)
        for chain in self.chains:
            x = chain(x)
        x = torch.nn.functional.leaky_relu(self.plain(x), 0.2)
        return self.head(self.res(x) + x)


def _randomise(model):
    torch.manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and m.affine:
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return model


def _steps(compiled, model, ref, shapes, dtype=torch.float64,
           channels_last=False, tol=1e-9):
    for step, shape in enumerate(shapes):
        torch.manual_seed(10 + step)
        x = torch.randn(*shape, dtype=dtype) + step
        if channels_last:
            x = x.to(memory_format=torch.channels_last)
        a, b = compiled(x.clone()), ref(x.clone())
        assert torch.allclose(a, b, atol=tol, rtol=tol), (a - b).abs().max()
        grad = torch.randn_like(b)
        a.backward(grad)
        b.backward(grad)
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=tol, rtol=tol), name
    for (name, p), q in zip(model.named_buffers(), ref.buffers()):
        assert torch.equal(p, q) if not p.is_floating_point() else \
            torch.allclose(p, q, atol=tol, rtol=tol), name


def test_matches_batchnorm_and_fuses_every_chain():
    model = _randomise(Net().double())
    ref = copy.deepcopy(model)
    sites = []
    compiled = torch.compile(model, backend=backend(record=sites,
                                                    inductor=False),
                             fullgraph=True)
    _steps(compiled, model, ref, [(2, 3, 6, 6)] * 3)
    got = [(s.strategy, s.activation, s.applied) for s in sites]
    assert got == [("inplace", "leaky_relu", True), ("inplace", "elu", True),
                   ("store-y", "relu", True), ("store-y", "relu6", True),
                   ("store-y", "silu", True), ("store-y", "gelu", True),
                   ("store-y", "hardswish", True),
                   ("inplace", "leaky_relu", True),
                   ("inplace", "identity", True)], got


@pytest.mark.parametrize("dynamic", [False, True])
def test_channels_last_and_dynamic_batch(dynamic):
    model = _randomise(Net().double()).to(memory_format=torch.channels_last)
    ref = copy.deepcopy(model)
    compiled = torch.compile(model, backend=backend(inductor=False),
                             fullgraph=True, dynamic=dynamic or None)
    shapes = [(2, 3, 5, 7), (5, 3, 5, 7), (3, 3, 5, 7)] if dynamic else \
        [(2, 3, 5, 7)] * 2
    _steps(compiled, model, ref, shapes, channels_last=True)


def test_x_is_never_saved_for_a_fused_chain():
    """The partitioned forward returns its outputs and the tensors saved for
    the backward: no input x of a fused operator is among them, and fewer
    bytes are saved than without the pass."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.LeakyReLU(0.1),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ELU(),
        nn.Conv2d(8, 4, 1)).double()
    graphs = []
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    compiled = torch.compile(copy.deepcopy(model), backend=backend(
        inductor=False, graphs=graphs), fullgraph=True)
    compiled(x).sum().backward()
    forward = graphs[0].graph
    saved = [n for n in forward.find_nodes(op="output")[0].args[0]
             if isinstance(n, torch.fx.Node)]
    fused = [n for n in forward.nodes if n.op == "call_function" and
             n.target is torch.ops.iabn.inplace_abn_forward.default]
    assert len(fused) == 3
    for node in fused:
        assert node.args[0] not in saved, node
        # z (or y for relu) is what the backward keeps.
        outputs = [u for u in node.users if u.target is operator.getitem]
        assert any(u in saved for u in outputs), node

    # Stock partitioner on the same joint graph (no IABN pass).
    from functorch.compile import make_boxed_func
    from torch._dynamo.backends.common import aot_autograd
    stock = []

    def keep(gm, _):
        stock.append(gm)
        return make_boxed_func(gm.forward)
    torch._dynamo.reset()
    torch.compile(copy.deepcopy(model), backend=aot_autograd(
        fw_compiler=keep, bw_compiler=keep))(x).sum().backward()

    def nbytes(gm):
        total = 0
        for n in gm.graph.find_nodes(op="output")[0].args[0]:
            val = getattr(n, "meta", {}).get("val")
            if isinstance(val, torch.Tensor):
                total += val.numel() * val.element_size()
        return total
    assert nbytes(graphs[0]) < nbytes(stock[0])


def test_zero_initialised_gamma_is_left_alone():
    """gamma = 0 (zero_init_residual): the fused layer would compute with
    gamma clamped to eps; the batch norm stays aten's, with the reason."""
    model = _randomise(Net().double())
    with torch.no_grad():
        model.res.weight.zero_()
    ref = copy.deepcopy(model)
    sites = []
    compiled = torch.compile(model, backend=backend(record=sites,
                                                    inductor=False))
    _steps(compiled, model, ref, [(2, 3, 6, 6)] * 2, tol=1e-12)
    last = sites[-1]
    assert not last.applied and "min |gamma| = 0" in last.reason, last
    assert all(s.applied for s in sites[:-1])


def test_explain_names_unfused_chains_and_leaves_the_model_alone():
    class TwoReaders(nn.Module):
        """y read by the activation and by a second branch: not fused."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            y = self.bn(self.conv(x))
            return torch.nn.functional.leaky_relu(y, 0.1) * y

    model = TwoReaders()
    before = copy.deepcopy(model.state_dict())
    sites = explain(model, torch.randn(2, 3, 6, 6))
    assert len(sites) == 1 and not sites[0].applied
    assert sites[0].strategy == "none" and "not rewritten" in sites[0].reason
    assert "left alone" in str(sites[0])
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_eval_and_no_grad_graphs_are_unchanged():
    """Inference graphs never reach the joint pass; the batch norms kept
    whole for it are decomposed as inductor would."""
    model = _randomise(Net().double()).eval()
    compiled = torch.compile(model, backend=backend(inductor=False))
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-12)


def test_momentum_none_cumulative_average():
    """momentum=None: dynamo breaks the graph at BatchNorm's cumulative
    factor (1 / num_batches_tracked, a tensor read as a float), so that
    batch norm runs outside any joint graph: unfused, and still exact."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, momentum=None),
                          nn.LeakyReLU(0.1)).double()
    _randomise(model)
    ref = copy.deepcopy(model)
    sites = []
    compiled = torch.compile(model, backend=backend(inductor=False,
                                                    record=sites))
    _steps(compiled, model, ref, [(2, 3, 6, 6)] * 3)
    assert not any(s.applied for s in sites)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="gamma_mode"):
        backend(gamma_mode="abs")


def test_named_backend_with_inductor():
    """torch.compile(model, backend="iabn"): inductor with the pass, in
    float32 (CPU inductor), against eager BatchNorm."""
    torch.manual_seed(0)
    model = _randomise(nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.LeakyReLU(0.1),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 4, 1)))
    ref = copy.deepcopy(model)
    compiled = torch.compile(model, backend="iabn", fullgraph=True)
    _steps(compiled, model, ref, [(2, 3, 8, 8)] * 2, dtype=torch.float32,
           tol=1e-4)


def test_graph_the_exporter_cannot_take_is_left_unchanged():
    """A joint graph with a tensor type the IR has no type for (complex):
    the backend warns and leaves the graph to the stock path, results
    unchanged."""
    class WithComplex(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm2d(3)

        def forward(self, x):
            y = torch.nn.functional.leaky_relu(self.bn(x), 0.1)
            return y * torch.view_as_real(torch.fft.fft(y)).sum(-1)

    model = WithComplex().double()
    ref = copy.deepcopy(model)
    sites = []
    compiled = torch.compile(model, backend=backend(record=sites,
                                                    inductor=False))
    with pytest.warns(UserWarning, match="left to inductor unchanged"):
        _steps(compiled, model, ref, [(2, 3, 4, 4)])
    assert sites == []


def test_a_refused_replacement_restores_the_chain(monkeypatch):
    """When tracing a replacement fails (here: the backward's, after the
    forward's was inserted), the chain is left as it was, with the reason,
    and the results are BatchNorm's."""
    def refuse(*args, **kwargs):
        def fn(*tensors):
            raise ValueError("iabn: refused for the test")
        return fn
    monkeypatch.setattr(joint, "_backward_replacement", refuse)
    model = _randomise(Net().double())
    ref = copy.deepcopy(model)
    sites = []
    compiled = torch.compile(model, backend=backend(record=sites,
                                                    inductor=False))
    _steps(compiled, model, ref, [(2, 3, 6, 6)] * 2, tol=1e-12)
    assert sites and not any(s.applied for s in sites)
    assert all("refused for the test" in s.reason for s in sites)
