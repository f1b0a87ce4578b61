"""CUDA-event timing shared by the benchmarks."""

import torch


def event_times_ms(fn, iters):
    """Milliseconds of each of `iters` calls of fn, timed with CUDA events
    on the current stream (each call waited for)."""
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return times


def sgd_step(model, batch, precision, pixels=224):
    """One training step of `model` on a fixed random batch (SGD with
    momentum, cross-entropy over 1000 classes, bf16 autocast when precision
    is "bf16"): returns (step, optimizer)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, pixels, pixels, device="cuda")
    target = torch.randint(0, 1000, (batch,), device="cuda")
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16,
                            enabled=precision == "bf16"):
            loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()

    return step, opt
