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
