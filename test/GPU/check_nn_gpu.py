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
from iabn.torch import functional as iabn_functional  # noqa: E402

TOL = {torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 8e-2}


def rel(a, b):
    return float((a.float() - b.float()).abs().max()) / max(
        1.0, float(b.float().abs().max()))


def main():
    assert iabn_functional._cuda_kernels() is not None, "libiabn_cuda.so"
    failures = 0
    torch.manual_seed(0)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        for channels_last in (False, True):
            for act, p in (("leaky_relu", 0.01), ("elu", 1.0)):
                fmt = torch.channels_last if channels_last else \
                    torch.contiguous_format
                x0 = (torch.randn(8, 64, 28, 28, device="cuda") * 2 + 1).to(
                    dtype).contiguous(memory_format=fmt)
                m = InPlaceABN(64, activation=act, activation_param=p).cuda()
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
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
