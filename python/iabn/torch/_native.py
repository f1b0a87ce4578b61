"""The native operators of the iabn namespace (libiabn_torch.so, built from
iabn/csrc/ops.cpp against the installed torch): loaded once on import.

The operators, their autograd and their CUDA kernels are C++; no Python runs
per call on the GPU path. Inputs the CUDA kernels do not take (CPU tensors,
f64, other memory formats) run the reference math of _reference, the one
Python copy of it, registered here as the kernels of
iabn::_reference_forward and iabn::_reference_backward.
"""

import torch

from .. import _libs
from . import _reference as R

LIBRARY = "libiabn_torch.so"
KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _load():
    path = _libs.find(LIBRARY)
    if path is None:
        raise ImportError(
            f"iabn.torch needs its native operators ({LIBRARY}), which are "
            "built against the installed torch: build IABN (scripts/setup.sh)"
            " or install the package with `pip install --no-build-isolation "
            "./python`; searched: " + ", ".join(_libs.candidates(LIBRARY)))
    try:
        torch.ops.load_library(path)
    except OSError as error:
        raise ImportError(
            f"iabn.torch cannot load its native operators ({path}): {error}. "
            "They are compiled against one torch: rebuild them for this "
            f"torch ({torch.__version__}), i.e. reinstall with `pip install "
            "--no-build-isolation ./python` (or rebuild the tree)") from error
    return path


PATH = _load()
ops = torch.ops.iabn


def _reference_forward(x, z, weight, bias, running_mean, running_var,
                       training, factor, eps, activation, param, gamma_mode):
    mean, var = R.forward(x, z, weight, bias, running_mean, running_var,
                          training, factor, eps, activation, param,
                          gamma_mode)
    if not training:  # the operator's outputs never alias its inputs
        mean, var = mean.clone(), var.clone()
    return mean, var


def _reference_backward(z, dz, weight, bias, var, training, eps, activation,
                        param, gamma_mode):
    dx, dgamma, dbeta = R.backward(z, dz, weight, bias, var, training, eps,
                                   activation, param, gamma_mode)
    return like(z, dx), dgamma, dbeta


def like(z, dx):
    """dx in z's dtype and memory layout (the operators promise
    empty_like(z))."""
    out = torch.empty_like(z)
    out.copy_(dx)
    return out


_impl = torch.library.Library("iabn", "IMPL")
_impl.impl("_reference_forward", _reference_forward,
           "CompositeExplicitAutograd")
_impl.impl("_reference_backward", _reference_backward,
           "CompositeExplicitAutograd")


# Whether the operators were built with the CUDA kernels (libiabn_cuda.so):
# a CUDA build of torch. Asked once, not per call.
_CUDA_KERNELS = torch._C._dispatch_has_kernel_for_dispatch_key(
    "iabn::statistics", "CUDA")


def has_cuda_kernels():
    """Whether the operators were built with the CUDA kernels."""
    return _CUDA_KERNELS


def kernels_apply(x):
    """Whether the CUDA kernels take x (the operators decide the same way
    for themselves; the synchronized layer asks beforehand)."""
    if not (x.is_cuda and x.dtype in KERNEL_DTYPES and x.numel()):
        return False
    if not (x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(
            memory_format=torch.channels_last))):
        return False
    return has_cuda_kernels()
