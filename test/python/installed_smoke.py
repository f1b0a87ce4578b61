"""Run with the interpreter of an environment where `pip install ./python`
put the package: it must come from there, with its own shared libraries
(a compiler core that needs no LLVM installed, operators built for this
torch), as a platform wheel, and work (compiler pass, convert() of a CNN,
InPlaceABN equal to BatchNorm2d + LeakyReLU)."""

import glob
import os
import subprocess

import torch

import iabn
from iabn import _libs, compiler
from iabn.torch import InPlaceABN

assert "site-packages" in iabn.__file__, iabn.__file__
assert "IABN_LIB_DIR" not in os.environ
capi = _libs.find("libIABNCAPI.so")
assert capi.startswith(os.path.dirname(iabn.__file__)), capi
print("package:", os.path.relpath(iabn.__file__, os.environ["VIRTUAL_ROOT"]))
print("library:", os.path.relpath(capi, os.environ["VIRTUAL_ROOT"]))

ops = _libs.find("libiabn_torch.so")
assert ops.startswith(os.path.dirname(iabn.__file__)), ops
print("operators:", os.path.relpath(ops, os.environ["VIRTUAL_ROOT"]))
# The compiler core links MLIR and LLVM statically.
needed = subprocess.run(["ldd", capi], capture_output=True, text=True,
                        check=True).stdout
print("compiler core needs LLVM:", any(
    name in needed for name in ("libMLIR", "libLLVM")))
lib_dir = os.path.dirname(capi)
total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(lib_dir, "*")))
print("libraries under 64 MiB:", total < 64 * 2**20, f"({total >> 20} MiB)")
(wheel,) = glob.glob(os.path.join(os.path.dirname(os.path.dirname(
    iabn.__file__)), "iabn-*.dist-info", "WHEEL"))
tags = [line.split(": ", 1)[1] for line in open(wheel).read().splitlines()
        if line.startswith("Tag: ")]
print("platform wheel:", all(not t.endswith("-none-any") and "linux" in t
                             for t in tags), tags)

result = compiler.inplace_abn(open(os.environ["EXAMPLE"]).read())
print("remarks:", len(result.remarks))

from iabn.torch import convert  # noqa: E402

torch.manual_seed(1)
net = torch.nn.Sequential(
    torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8),
    torch.nn.LeakyReLU(0.1), torch.nn.Conv2d(8, 8, 3, padding=1),
    torch.nn.BatchNorm2d(8), torch.nn.ELU(), torch.nn.Conv2d(8, 2, 1))
converted, _ = convert(net, torch.randn(2, 3, 8, 8), verbose=False)
print("convert replaced:", sum(isinstance(m, InPlaceABN)
                               for m in converted.modules()))

torch.manual_seed(0)
m = InPlaceABN(4, activation="leaky_relu", activation_param=0.1,
               gamma_mode="sign_clamp").double()
bn = torch.nn.BatchNorm2d(4).double()
x = torch.randn(3, 4, 5, 5, dtype=torch.float64)
z = m(x.clone())
ref = torch.nn.functional.leaky_relu(bn(x), 0.1)
print("matches BatchNorm2d:", bool(torch.allclose(z, ref, atol=1e-12)))
