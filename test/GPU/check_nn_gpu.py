"""iabn.torch.InPlaceABN on CUDA (the compiler-generated kernels) against
nn.BatchNorm2d + activation on the same GPU: forward, gradients of input,
weight and bias, running statistics, for f32/f16/bf16 and NCHW/NHWC. Prints
one line per case and a summary; exits non-zero on any failure."""

import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "python"))
from iabn.torch import InPlaceABN  # noqa: E402
from iabn.torch import _native as iabn_native  # noqa: E402
from iabn.torch import _ops as iabn_ops  # noqa: E402

TOL = {torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 8e-2}


def rel(a, b):
    return float((a.float() - b.float()).abs().max()) / max(
        1.0, float(b.float().abs().max()))


def main():
    assert iabn_native.has_cuda_kernels(), "libiabn_torch.so with the CUDA kernels"
    failures = 0
    torch.manual_seed(0)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        for channels_last in (False, True):
            for act, p in (("leaky_relu", 0.01), ("elu", 1.0)):
                fmt = torch.channels_last if channels_last else \
                    torch.contiguous_format
                x0 = (torch.randn(8, 64, 28, 28, device="cuda") * 2 + 1).to(
                    dtype).contiguous(memory_format=fmt)
                m = InPlaceABN(64, activation=act, activation_param=p,
                               gamma_mode="sign_clamp").cuda()
                bn = torch.nn.BatchNorm2d(64).cuda()
                with torch.no_grad():
                    m.weight.uniform_(-2, 2)
                    m.bias.uniform_(-0.5, 0.5)
                bn.load_state_dict(m.state_dict())
                xa = x0.clone().requires_grad_()
                xb = x0.float().clone().requires_grad_()
                za = m(xa * 1)
                yb = bn(xb)
                zb = F.leaky_relu(yb, p) if act == "leaky_relu" else \
                    F.elu(yb, p)
                dz = torch.randn_like(za)
                ga = torch.autograd.grad(za, [xa, m.weight, m.bias], dz)
                gb = torch.autograd.grad(zb, [xb, bn.weight, bn.bias],
                                         dz.float())
                errors = [rel(za, zb)] + [rel(a, b) for a, b in zip(ga, gb)]
                errors += [rel(m.running_mean, bn.running_mean),
                           rel(m.running_var, bn.running_var)]
                ok = all(e <= TOL[dtype] for e in errors)
                failures += not ok
                print(("ok  " if ok else "FAIL") + f" {str(dtype)[6:]} "
                      f"{'nhwc' if channels_last else 'nchw'} {act}: "
                      + " ".join(f"{e:.2g}" for e in errors))
    failures += abs_plus_eps_case()
    failures += model_cases()
    print(f"{failures} failures")
    return 1 if failures else 0


def abs_plus_eps_case():
    """gamma_mode="abs_plus_eps" (the official library's |gamma| + eps) with
    negative gammas: the CUDA kernels against the same layer's float64 torch
    path on the CPU, including the sign of d gamma."""
    torch.manual_seed(0)
    ours = InPlaceABN(64, gamma_mode="abs_plus_eps").cuda()
    ref = InPlaceABN(64, gamma_mode="abs_plus_eps").double()
    with torch.no_grad():
        ours.weight.uniform_(-2, 2)
        ours.bias.uniform_(-0.5, 0.5)
    ref.load_state_dict(ours.state_dict())
    x0 = torch.randn(8, 64, 28, 28) * 2 + 1
    dz = torch.randn_like(x0)
    xa = x0.cuda().requires_grad_()
    xb = x0.double().requires_grad_()
    za, zb = ours(xa * 1), ref(xb * 1)
    ga = torch.autograd.grad(za, [xa, ours.weight, ours.bias], dz.cuda())
    gb = torch.autograd.grad(zb, [xb, ref.weight, ref.bias], dz.double())
    errors = [rel(za.cpu(), zb)] + [rel(a.cpu(), b) for a, b in zip(ga, gb)]
    ok = all(e <= TOL[torch.float32] for e in errors)
    print(("ok  " if ok else "FAIL") + " abs_plus_eps, negative gammas, "
          "CUDA vs CPU float64: " + " ".join(f"{e:.2g}" for e in errors))
    return int(not ok)


def _net(norm):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(16, 64, 3, padding=1, bias=False), norm,
        torch.nn.Conv2d(64, 64, 3, padding=1, bias=False),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(64, 10)).cuda()


def _step(model, x, autocast_dtype):
    with torch.autocast("cuda", dtype=autocast_dtype,
                        enabled=autocast_dtype is not None):
        out = model(x)
    out.float().square().sum().backward()
    return out.float(), [p.grad.float() for p in model.parameters()]


def model_cases():
    """Autocast (f16, bf16) and torch.compile (inductor), channels_last:
    conv -> InPlaceABN -> conv against the same net with BatchNorm2d +
    LeakyReLU, forward and every parameter gradient."""
    failures = 0
    has_compile = iabn_ops.HAS_CUSTOM_OP and hasattr(torch, "compile")
    for autocast_dtype in (None, torch.float16, torch.bfloat16):
        for compiled in ((False, True) if has_compile else (False,)):
            ours = _net(InPlaceABN(64, activation="leaky_relu",
                                   activation_param=0.01,
                                   gamma_mode="sign_clamp"))
            ref = _net(torch.nn.Sequential(torch.nn.BatchNorm2d(64),
                                           torch.nn.LeakyReLU(0.01)))
            ours = ours.to(memory_format=torch.channels_last)
            ref = ref.to(memory_format=torch.channels_last)
            run = torch.compile(ours, fullgraph=True) if compiled else ours
            x = torch.randn(8, 16, 32, 32, device="cuda").contiguous(
                memory_format=torch.channels_last)
            za, ga = _step(run, x, autocast_dtype)
            zb, gb = _step(ref, x, autocast_dtype)
            errors = [rel(za, zb)] + [rel(a, b) for a, b in zip(ga, gb)]
            tol = TOL[autocast_dtype or torch.float32]
            ok = all(e <= tol for e in errors)
            failures += not ok
            print(("ok  " if ok else "FAIL") + " net "
                  f"{'autocast ' + str(autocast_dtype)[6:] if autocast_dtype else 'f32'}"
                  f"{' torch.compile' if compiled else ''}: worst "
                  f"{max(errors):.2g}")
    if not has_compile:
        print("note: torch.compile cases skipped (PyTorch "
              f"{torch.__version__} has no torch.library.custom_op)")
    return failures


if __name__ == "__main__":
    sys.exit(main())
