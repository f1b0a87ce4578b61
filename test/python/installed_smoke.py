"""Run with the interpreter of an environment where `pip install ./python`
put the package: it must come from there, with its own shared libraries,
and work (compiler pass, InPlaceABN equal to BatchNorm2d + LeakyReLU)."""

import os

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

result = compiler.inplace_abn(open(os.environ["EXAMPLE"]).read())
print("remarks:", len(result.remarks))

torch.manual_seed(0)
m = InPlaceABN(4, activation="leaky_relu", activation_param=0.1,
               gamma_mode="sign_clamp").double()
bn = torch.nn.BatchNorm2d(4).double()
x = torch.randn(3, 4, 5, 5, dtype=torch.float64)
z = m(x.clone())
ref = torch.nn.functional.leaky_relu(bn(x), 0.1)
print("matches BatchNorm2d:", bool(torch.allclose(z, ref, atol=1e-12)))
