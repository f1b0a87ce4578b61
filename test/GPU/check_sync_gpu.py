"""iabn.torch.InPlaceABNSync with NCCL on 2 GPUs (one process each, uneven
batches) against nn.BatchNorm2d + activation in f32 on the whole batch:
outputs, input gradients, parameter gradients summed over the ranks,
running statistics; f32/f16/bf16, NCHW and channels_last, leaky_relu and
elu. Then a DistributedDataParallel training step (conv -> InPlaceABNSync)
against the same model on the whole batch in one process. Prints one line
per case and a summary; exits non-zero on any failure."""

import os
import sys
import tempfile
import traceback

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "python"))
from iabn.torch import InPlaceABNSync  # noqa: E402
from iabn.torch import _native as iabn_native  # noqa: E402

TOL = {torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 8e-2}
BATCHES = [5, 11]
WORLD = 2


def rel(a, b):
    return float((a.float() - b.float()).abs().max()) / max(
        1.0, float(b.float().abs().max()))


def layer_cases(rank, report):
    dev = torch.device("cuda", rank)
    c = 64
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        for channels_last in (False, True):
            for act, p in (("leaky_relu", 0.01), ("elu", 1.0)):
                fmt = torch.channels_last if channels_last else \
                    torch.contiguous_format
                g = torch.Generator(device=dev).manual_seed(1)
                xs = [(torch.randn(b, c, 28, 28, device=dev, generator=g) *
                       (2 + r) + r) for r, b in enumerate(BATCHES)]
                dzs = [torch.randn(b, c, 28, 28, device=dev, generator=g)
                       for b in BATCHES]
                m = InPlaceABNSync(c, activation=act, activation_param=p,
                                   gamma_mode="sign_clamp").to(dev)
                bn = torch.nn.BatchNorm2d(c).to(dev)
                with torch.no_grad():
                    m.weight.copy_(torch.linspace(-2, 2, c))
                    m.bias.copy_(torch.linspace(-0.5, 0.5, c))
                bn.load_state_dict(m.state_dict())
                xa = xs[rank].to(dtype).contiguous(
                    memory_format=fmt).requires_grad_()
                za = m(xa * 1)
                ga = torch.autograd.grad(za, [xa, m.weight, m.bias],
                                         dzs[rank].to(dtype).contiguous(
                                             memory_format=fmt))
                xb = torch.cat([x.to(dtype).float() for x in xs]
                               ).requires_grad_()
                yb = bn(xb)
                zb = F.leaky_relu(yb, p) if act == "leaky_relu" else \
                    F.elu(yb, p)
                dzb = torch.cat([d.to(dtype).float() for d in dzs])
                gb = torch.autograd.grad(zb, [xb, bn.weight, bn.bias], dzb)
                dw, db = ga[1].clone(), ga[2].clone()
                dist.all_reduce(dw)
                dist.all_reduce(db)
                lo = sum(BATCHES[:rank])
                hi = lo + BATCHES[rank]
                errs = {"z": rel(za, zb[lo:hi]), "dx": rel(ga[0],
                                                           gb[0][lo:hi]),
                        "dgamma": rel(dw, gb[1]), "dbeta": rel(db, gb[2]),
                        "running_mean": rel(m.running_mean, bn.running_mean),
                        "running_var": rel(m.running_var, bn.running_var)}
                worst = max(errs.values())
                ok = worst <= TOL[dtype] and worst == worst
                report(f"{str(dtype)[6:]} "
                       f"{'nhwc' if channels_last else 'nchw'} {act}: worst "
                       f"{worst:.3g} ({max(errs, key=errs.get)})", ok)


def ddp_case(rank, report):
    """One SGD step of conv -> InPlaceABNSync -> conv under DDP equals the
    same step on the whole batch (BatchNorm2d) in one process."""
    dev = torch.device("cuda", rank)

    def model(norm):
        torch.manual_seed(3)
        return torch.nn.Sequential(
            torch.nn.Conv2d(3, 32, 3, padding=1, bias=False), norm,
            torch.nn.Conv2d(32, 8, 3, padding=1)).to(dev)

    sync = model(InPlaceABNSync(32, activation="leaky_relu",
                                activation_param=0.1,
                                gamma_mode="sign_clamp"))
    whole = model(torch.nn.Sequential(torch.nn.BatchNorm2d(32),
                                      torch.nn.LeakyReLU(0.1)))
    ddp = torch.nn.parallel.DistributedDataParallel(sync, device_ids=[rank])
    g = torch.Generator(device=dev).manual_seed(5)
    xs = [torch.randn(b, 3, 16, 16, device=dev, generator=g)
          for b in BATCHES]
    # DDP averages gradients over the ranks: scale the whole-batch loss to
    # match (mean over ranks of the per-rank sums).
    loss = ddp(xs[rank]).square().sum()
    loss.backward()
    (whole(torch.cat(xs)).square().sum() / WORLD).backward()
    errs = [rel(a.grad, b.grad) for a, b in zip(sync.parameters(),
                                               whole.parameters())]
    worst = max(errs)
    report(f"DDP step: worst parameter-gradient error {worst:.3g}",
           worst <= 1e-4)


def worker(rank, init_file, errors):
    try:
        torch.cuda.set_device(rank)
        # Exact float32 convolutions: the DDP case compares gradients at
        # 1e-4, which TF32 rounding could exceed.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        dist.init_process_group("nccl", init_method=f"file://{init_file}",
                                rank=rank, world_size=WORLD)
        failures = []

        def report(line, ok):
            if rank == 0:
                print(("ok   " if ok else "FAIL ") + line, flush=True)
            if not ok:
                failures.append(line)

        layer_cases(rank, report)
        ddp_case(rank, report)
        dist.destroy_process_group()
        if failures:
            errors.put((rank, "\n".join(failures)))
    except BaseException:  # noqa: B902 - reported to the parent
        errors.put((rank, traceback.format_exc()))
        raise


def main():
    if torch.cuda.device_count() < WORLD:
        print(f"FAIL: needs {WORLD} GPUs, found {torch.cuda.device_count()}")
        return 1
    assert iabn_native.has_cuda_kernels(), "libiabn_torch.so with the CUDA kernels"
    with tempfile.TemporaryDirectory() as tmp:
        ctx = mp.get_context("spawn")
        errors = ctx.SimpleQueue()
        try:
            mp.spawn(worker, args=(os.path.join(tmp, "rendezvous"), errors),
                     nprocs=WORLD)
        except Exception as e:  # noqa: BLE001 - summarized below
            print(f"FAIL: a rank failed: {e}")
        failed = 0
        while not errors.empty():
            rank, message = errors.get()
            failed += max(1, len(message.splitlines()))
            print(f"FAIL rank {rank}:\n{message}")
    cases = 3 * 2 * 2 + 1  # dtypes x layouts x activations, + DDP
    print(f"{cases} sync cases, {failed} failures")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
