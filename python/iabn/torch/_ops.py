"""InPlace-ABN under torch.compile and torch.export.

Eager code runs iabn::inplace_abn_, which writes z over x. Traced code cannot
express an operator that mutates its input behind the tracer's back, so
there the layer is the functional pair of native operators (iabn/csrc/
ops.cpp):

  iabn::inplace_abn_forward(x, ...) -> (z, mean, var)
  iabn::inplace_abn_backward(z, dz, ...) -> (dx, dgamma, dbeta)

with C++ meta kernels and a C++ autograd formula that saves z (an output),
gamma, beta and var: never x; no Python runs per call. The compiler's memory
planner reuses x's storage for z when x dies there. Running statistics are
updated outside the operator with ordinary in-place tensor ops, which the
tracer handles.

Autocast: no rule is registered on purpose. Like nn.BatchNorm2d, the layer
runs in its input's dtype (f16/bf16 storage, f32 statistics and parameters)
and must not have its f32 parameters cast down; an autocast region therefore
passes through to the operator unchanged.
"""

import torch

from . import _native  # noqa: F401 (registers the operators)

# Whether this torch can trace the layer (torch.compile, PyTorch >= 2).
HAS_CUSTOM_OP = hasattr(torch, "compile") and hasattr(torch, "library") \
    and hasattr(torch.library, "opcheck")


def compiling():
    """Whether torch.compile (dynamo) is tracing the caller."""
    compiler = getattr(torch, "compiler", None)
    is_compiling = getattr(compiler, "is_compiling", None)
    return bool(is_compiling and is_compiling())


def inplace_abn(x, weight, bias, running_mean, running_var, training,
                momentum, eps, activation, activation_param, gamma_mode):
    """The traced form of functional.inplace_abn: returns z (a new tensor as
    far as the tracer knows) and updates the running statistics."""
    z, mean, var = torch.ops.iabn.inplace_abn_forward(
        x, weight, bias, running_mean, running_var, training, eps,
        activation, activation_param, gamma_mode)
    if training and running_mean is not None:
        m = x.numel() // x.shape[1]
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(
                mean.to(running_mean.dtype) * momentum)
            running_var.mul_(1 - momentum).add_(
                (var * (m / (m - 1))).to(running_var.dtype) * momentum)
    return z
