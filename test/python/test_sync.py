"""InPlaceABNSync on torch.distributed with 2 gloo processes (CPU): uneven
per-rank batches give exactly the statistics, outputs, input gradients and
running statistics of nn.BatchNorm2d on the whole batch; the parameter
gradients summed over the ranks are the whole batch's; process groups are
honoured."""

import datetime
import os
import tempfile
import traceback

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from iabn.torch import InPlaceABN, InPlaceABNSync
from iabn.torch.sync import merge_statistics

WORLD = 2


def _reference(act, p):
    return {"leaky_relu": lambda t: F.leaky_relu(t, p),
            "elu": lambda t: F.elu(t, p), "identity": lambda t: t}[act]


def _data(batches, channels, channels_last):
    g = torch.Generator().manual_seed(7)
    xs = [torch.randn(b, channels, 3, 4, generator=g, dtype=torch.float64) *
          (1.5 + r) + 0.3 * r for r, b in enumerate(batches)]
    dzs = [torch.randn(b, channels, 3, 4, generator=g, dtype=torch.float64)
           for b in batches]
    if channels_last:
        xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]
    return xs, dzs


def _worker(rank, init_file, case, errors):
    try:
        # A mismatch of collectives fails after a minute instead of hanging.
        dist.init_process_group("gloo", init_method=f"file://{init_file}",
                                rank=rank, world_size=WORLD,
                                timeout=datetime.timedelta(seconds=60))
        try:
            _CASES[case["kind"]](rank, case)
        finally:
            dist.destroy_process_group()
    except BaseException:  # noqa: B902 - reported to the parent
        errors.put((rank, traceback.format_exc()))
        raise


def _make(cls, channels, case, **kwargs):
    m = cls(channels, activation=case["act"], activation_param=case["p"],
            momentum=case.get("momentum", 0.1),
            gamma_mode=case.get("gamma_mode", "sign_clamp"), **kwargs)
    m = m.double()
    with torch.no_grad():
        m.weight.copy_(torch.linspace(-1.5, 2.0, channels))
        m.bias.copy_(torch.linspace(-0.3, 0.4, channels))
    return m


def _check_whole_batch(rank, case):
    batches, c = case["batches"], 3
    xs, dzs = _data(batches, c, case.get("channels_last", False))
    m = _make(InPlaceABNSync, c, case)
    x = xs[rank].clone().requires_grad_()
    for _ in range(case.get("steps", 1)):
        z = m(x * 1.0)
        dx, dw, db = torch.autograd.grad(z, [x, m.weight, m.bias], dzs[rank])
    # The reference: BatchNorm2d + activation on the whole batch, one
    # process, loss = sum over ranks of <z_r, dz_r>.
    bn = torch.nn.BatchNorm2d(c, momentum=case.get("momentum", 0.1)).double()
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(-1.5, 2.0, c))
        bn.bias.copy_(torch.linspace(-0.3, 0.4, c))
    xall = torch.cat(xs).requires_grad_()
    for _ in range(case.get("steps", 1)):
        zall = _reference(case["act"], case["p"])(bn(xall * 1.0))
        gall = torch.autograd.grad(zall, [xall, bn.weight, bn.bias],
                                   torch.cat(dzs))
    lo = sum(batches[:rank])
    hi = lo + batches[rank]
    assert torch.allclose(z, zall[lo:hi], atol=1e-12), "z"
    assert torch.allclose(dx, gall[0][lo:hi], atol=1e-11), "dx"
    dist.all_reduce(dw)
    dist.all_reduce(db)
    assert torch.allclose(dw, gall[1], atol=1e-10), "dgamma"
    assert torch.allclose(db, gall[2], atol=1e-10), "dbeta"
    assert torch.allclose(m.running_mean, bn.running_mean, atol=1e-13)
    assert torch.allclose(m.running_var, bn.running_var, atol=1e-13)
    assert int(m.num_batches_tracked) == case.get("steps", 1)


def _check_groups(rank, case):
    # Every rank in its own group: the statistics are the rank's own.
    groups = [dist.new_group([r]) for r in range(WORLD)]
    c = 4
    xs, dzs = _data(case["batches"], c, False)
    sync = _make(InPlaceABNSync, c, case, group=groups[rank])
    local = _make(InPlaceABN, c, case)
    xa = xs[rank].clone().requires_grad_()
    xb = xs[rank].clone().requires_grad_()
    za, zb = sync(xa * 1.0), local(xb * 1.0)
    ga = torch.autograd.grad(za, [xa, sync.weight], dzs[rank])
    gb = torch.autograd.grad(zb, [xb, local.weight], dzs[rank])
    assert torch.allclose(za, zb, atol=1e-12)
    for a, b in zip(ga, gb):
        assert torch.allclose(a, b, atol=1e-11)
    assert torch.allclose(sync.running_var, local.running_var, atol=1e-14)


def _check_too_few_values(rank, case):
    m = _make(InPlaceABNSync, 2, case)
    x = torch.randn(1 - rank, 2, dtype=torch.float64)  # 1 value in all
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        m(x)


class _Residual(torch.nn.Module):
    """conv -> norm(x) -> conv, + x: the first norm's input is read again."""

    def __init__(self, first, second):
        super().__init__()
        self.conv0 = torch.nn.Conv2d(3, 4, 1)
        self.norm1, self.norm2 = first, second
        self.conv1 = torch.nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        h = self.conv0(x)
        return self.norm2(self.conv1(self.norm1(h)) + h)


def _check_converted_model(rank, case):
    # InPlaceABN (out of place and in place) -> convert_sync, against the
    # same network with BatchNorm2d + LeakyReLU on the whole batch.
    torch.manual_seed(0)
    model = _Residual(InPlaceABN(4, activation_param=0.1, inplace=False,
                                 gamma_mode="sign_clamp"),
                      InPlaceABN(4, activation_param=0.1,
                                 gamma_mode="sign_clamp")).double()
    torch.manual_seed(0)
    ref = _Residual(torch.nn.Sequential(torch.nn.BatchNorm2d(4),
                                        torch.nn.LeakyReLU(0.1)),
                    torch.nn.Sequential(torch.nn.BatchNorm2d(4),
                                        torch.nn.LeakyReLU(0.1))).double()
    model = InPlaceABNSync.convert_sync(model)
    assert isinstance(model.norm1, InPlaceABNSync) and not model.norm1.inplace
    assert isinstance(model.norm2, InPlaceABNSync) and model.norm2.inplace
    xs, _ = _data(case["batches"], 3, False)
    _, dzs = _data(case["batches"], 4, False)
    za = model(xs[rank])
    grads = torch.autograd.grad(za, list(model.parameters()), dzs[rank])
    zb = ref(torch.cat(xs))
    ref_grads = torch.autograd.grad(zb, list(ref.parameters()),
                                    torch.cat(dzs))
    lo = sum(case["batches"][:rank])
    assert torch.allclose(za, zb[lo:lo + case["batches"][rank]], atol=1e-12)
    for a, b in zip(grads, ref_grads):
        a = a.clone()
        dist.all_reduce(a)
        assert torch.allclose(a, b, atol=1e-10)


def _check_eval_is_local(rank, case):
    # Only rank 0 evaluates (a validation loop on one rank): no collective
    # may run, even without running statistics (batch statistics, local).
    m = _make(InPlaceABNSync, 3, case, track_running_stats=False).eval()
    if rank == 0:
        x = torch.randn(4, 3, 2, 2, dtype=torch.float64)
        local = _make(InPlaceABN, 3, case, track_running_stats=False).eval()
        assert torch.allclose(m(x.clone()), local(x.clone()), atol=1e-14)
    dist.barrier()


_CASES = {"whole": _check_whole_batch, "groups": _check_groups,
          "too_few": _check_too_few_values, "model": _check_converted_model,
          "eval_local": _check_eval_is_local}


def _spawn(case):
    with tempfile.TemporaryDirectory() as tmp:
        ctx = mp.get_context("spawn")
        errors = ctx.SimpleQueue()
        try:
            mp.spawn(_worker, args=(os.path.join(tmp, "rendezvous"), case,
                                    errors), nprocs=WORLD)
        except Exception:
            messages = []
            while not errors.empty():
                messages.append("rank %d:\n%s" % errors.get())
            pytest.fail("\n".join(messages) or "a rank failed")


@pytest.mark.parametrize("act,p", [("leaky_relu", 0.01), ("elu", 0.7),
                                   ("identity", 0.0)])
def test_uneven_batches_equal_whole_batch(act, p):
    _spawn({"kind": "whole", "act": act, "p": p, "batches": [3, 5]})


def test_channels_last_cumulative_average_two_steps():
    _spawn({"kind": "whole", "act": "leaky_relu", "p": 0.1,
            "batches": [2, 1], "channels_last": True,
            "momentum": None, "steps": 2})


def test_one_sample_and_an_empty_rank():
    # Rank 1 has no data at all; rank 0 one sample of 12 values.
    _spawn({"kind": "whole", "act": "elu", "p": 1.0, "batches": [1, 0]})


def test_process_groups_abs_plus_eps():
    _spawn({"kind": "groups", "act": "leaky_relu", "p": 0.2,
            "batches": [2, 3], "gamma_mode": "abs_plus_eps"})


def test_convert_sync_of_a_residual_model():
    _spawn({"kind": "model", "batches": [3, 2]})


def test_evaluation_on_one_rank_runs_no_collective():
    _spawn({"kind": "eval_local", "act": "elu", "p": 1.0})


def test_convert_sync_shares_parameters_and_buffers():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                                InPlaceABN(4, activation="elu",
                                           activation_param=0.5,
                                           inplace=False)).double()
    model[1].weight.requires_grad_(False)
    weight, running_var = model[1].weight, model[1].running_var
    converted = InPlaceABNSync.convert_sync(model)
    layer = converted[1]
    assert isinstance(layer, InPlaceABNSync) and not layer.inplace
    assert layer.weight is weight and not layer.weight.requires_grad
    assert layer.running_var is running_var
    assert (layer.activation, layer.activation_param) == ("elu", 0.5)


def test_too_few_values_over_all_ranks():
    _spawn({"kind": "too_few", "act": "leaky_relu", "p": 0.01})


def test_merge_statistics_matches_concatenation():
    torch.manual_seed(0)
    parts = [torch.randn(n, 5, dtype=torch.float64) * (k + 1) + k
             for k, n in enumerate([1, 7, 4])]
    counts = torch.tensor([len(p) for p in parts])
    means = torch.stack([p.mean(0) for p in parts])
    variances = torch.stack([p.var(0, unbiased=False) for p in parts])
    mean, var, total = merge_statistics(counts, means, variances)
    whole = torch.cat(parts)
    assert int(total) == 12
    assert torch.allclose(mean, whole.mean(0), atol=1e-14)
    assert torch.allclose(var, whole.var(0, unbiased=False), atol=1e-13)


def test_without_process_group_it_is_inplace_abn():
    assert not dist.is_initialized()
    torch.manual_seed(1)
    sync = _make(InPlaceABNSync, 3, {"act": "elu", "p": 0.5})
    local = _make(InPlaceABN, 3, {"act": "elu", "p": 0.5})
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64)
    assert torch.allclose(sync(x.clone()), local(x.clone()), atol=1e-14)
