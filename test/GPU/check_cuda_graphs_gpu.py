"""InPlace-ABN inside CUDA graphs: a training step (forward, backward,
SGD update) of a small conv net with InPlaceABN layers (in place and out of
place, f32 and bf16 autocast, NCHW and channels_last), captured with
torch.cuda.graph and replayed on new data, against the same step run
eagerly on a copy of the model; and torch.compile(mode="reduce-overhead")
(which captures the compiled step in CUDA graphs) against eager. Capture
fails if the layer synchronizes with the host or allocates outside the
graph's pool. Prints one line per case; exits non-zero on any failure."""

import copy
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "python"))
from iabn.torch import InPlaceABN  # noqa: E402


def net(inplace, channels_last):
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), InPlaceABN(32, inplace=inplace),
        nn.Conv2d(32, 32, 3, padding=1),
        InPlaceABN(32, activation="elu", activation_param=1.0,
                   gamma_mode="sign_clamp", inplace=inplace),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)).cuda()
    return m.to(memory_format=torch.channels_last) if channels_last else m


def step_fn(model, opt, autocast):
    def step(x, y):
        with torch.autocast("cuda", torch.bfloat16, enabled=autocast):
            loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=False)
        return loss.detach()
    return step


def batches(n, channels_last):
    g = torch.Generator(device="cuda").manual_seed(1)
    out = []
    for _ in range(n):
        x = torch.randn(8, 3, 16, 16, device="cuda", generator=g)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out.append((x, torch.randint(0, 10, (8,), device="cuda",
                                     generator=g)))
    return out


def compare(a, b, tol):
    worst = 0.0
    for (na, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        worst = max(worst, float((pa - pb).abs().max()))
    for (na, ba), (_, bb) in zip(a.named_buffers(), b.named_buffers()):
        if ba.is_floating_point():
            worst = max(worst, float((ba - bb).abs().max()))
    return worst, worst <= tol


def graph_case(inplace, channels_last, autocast):
    model = net(inplace, channels_last)
    ref = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    data = batches(6, channels_last)
    step, ref_step = step_fn(model, opt, autocast), step_fn(ref, ref_opt,
                                                           autocast)
    static_x = data[0][0].clone()
    static_y = data[0][1].clone()
    # Warm up on a side stream (as torch.cuda.graphs documents), then
    # capture one step; both models take the warm-up steps.
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for x, y in data[:2]:
            static_x.copy_(x)
            static_y.copy_(y)
            step(static_x, static_y)
    torch.cuda.current_stream().wait_stream(s)
    for x, y in data[:2]:
        ref_step(x.clone(), y)
    graph = torch.cuda.CUDAGraph()
    static_x.copy_(data[2][0])
    static_y.copy_(data[2][1])
    with torch.cuda.graph(graph):  # captured, not run
        static_loss = step(static_x, static_y)
    losses = []
    for x, y in data[2:]:
        static_x.copy_(x)
        static_y.copy_(y)
        graph.replay()
        losses.append((float(static_loss), float(ref_step(x.clone(), y))))
    torch.cuda.synchronize()
    tol = 5e-2 if autocast else 2e-4
    worst, ok = compare(model, ref, tol)
    loss_ok = all(abs(a - b) <= tol * max(1.0, abs(b)) for a, b in losses)
    return worst, ok and loss_ok


def compiled_case(channels_last, autocast):
    model = net(False, channels_last)
    ref = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.05)
    compiled = torch.compile(model, mode="reduce-overhead")

    def step(m, o, x, y):
        with torch.autocast("cuda", torch.bfloat16, enabled=autocast):
            loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        o.step()
        o.zero_grad()
        return float(loss)
    worst_loss = 0.0
    for x, y in batches(6, channels_last):
        a = step(compiled, opt, x.clone(), y)
        b = step(ref, ref_opt, x.clone(), y)
        worst_loss = max(worst_loss, abs(a - b))
    torch.cuda.synchronize()
    tol = 5e-2 if autocast else 2e-4
    worst, ok = compare(model, ref, tol)
    return max(worst, worst_loss), ok and worst_loss <= tol


def run(name, case, *args):
    """Runs one case; an exception is a failure, reported with the case."""
    try:
        worst, ok = case(*args)
    except Exception as e:  # noqa: BLE001 (reported as FAIL)
        worst, ok = float("nan"), False
        name += f" ({type(e).__name__}: {e})"
    print(f"{'ok' if ok else 'FAIL'} {name}: max diff {worst:.2e}")
    return ok


def compiled_case_fresh(channels_last, autocast):
    torch._dynamo.reset()
    return compiled_case(channels_last, autocast)


def main():
    results = []
    for inplace in (True, False):
        for channels_last in (False, True):
            for autocast in (False, True):
                results.append(run(
                    f"cuda graph inplace={inplace} channels_last="
                    f"{channels_last} bf16={autocast}", graph_case, inplace,
                    channels_last, autocast))
    if hasattr(torch, "compile"):
        for channels_last in (False, True):
            for autocast in (False, True):
                results.append(run(
                    f"torch.compile(reduce-overhead) channels_last="
                    f"{channels_last} bf16={autocast}", compiled_case_fresh,
                    channels_last, autocast))
    cases, failures = len(results), results.count(False)
    print(f"{cases} graph cases, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
