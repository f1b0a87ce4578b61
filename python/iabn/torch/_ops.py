"""InPlace-ABN as PyTorch custom operators, for torch.compile (PyTorch >= 2.4,
`torch.library.custom_op`).

Eager code runs `InPlaceABNFunction`, which writes z over x. Traced code
(torch.compile, torch.export) cannot express an autograd function that
mutates its input behind the tracer's back, and PyTorch only accepts autograd
formulas for functional operators, so there the layer is a pair of functional
operators:

  iabn::inplace_abn_forward(x, ...) -> (z, mean, var)
  iabn::inplace_abn_backward(z, dz, ...) -> (dx, dgamma, dbeta)

with fake (meta) implementations and an autograd formula that saves z (an
output), gamma, beta and var: never x. The compiler's memory planner reuses
x's storage for z when x dies there. Running statistics are updated outside
the operator with ordinary in-place tensor ops, which the tracer handles.

Autocast: no rule is registered on purpose. Like nn.BatchNorm2d, the layer
runs in its input's dtype (f16/bf16 storage, f32 statistics and parameters)
and must not have its f32 parameters cast down; an autocast region therefore
passes through to the operator unchanged.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor

from . import _dispatch as D
from . import _reference as R

HAS_CUSTOM_OP = hasattr(torch, "library") and hasattr(torch.library,
                                                      "custom_op")


def compiling():
    """Whether torch.compile (dynamo) is tracing the caller."""
    compiler = getattr(torch, "compiler", None)
    is_compiling = getattr(compiler, "is_compiling", None)
    return bool(is_compiling and is_compiling()) and HAS_CUSTOM_OP


if HAS_CUSTOM_OP:

    @torch.library.custom_op("iabn::inplace_abn_forward", mutates_args=())
    def inplace_abn_forward(
            x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
            running_mean: Optional[Tensor], running_var: Optional[Tensor],
            training: bool, eps: float, activation: str,
            activation_param: float,
            gamma_mode: str) -> Tuple[Tensor, Tensor, Tensor]:
        z = torch.empty_like(x)
        mean, var, _ = D.forward_core(
            x, z, weight, bias, None if training else running_mean,
            None if training else running_var, training, 0.0, eps,
            activation, activation_param, gamma_mode)
        compute = R.compute_dtype(x)
        return z, mean.to(compute).clone(), var.to(compute).clone()

    @inplace_abn_forward.register_fake
    def _(x, weight, bias, running_mean, running_var, training, eps,
          activation, activation_param, gamma_mode):
        c = x.shape[1]
        compute = R.compute_dtype(x)
        return (torch.empty_like(x), x.new_empty(c, dtype=compute),
                x.new_empty(c, dtype=compute))

    @torch.library.custom_op("iabn::inplace_abn_backward", mutates_args=())
    def inplace_abn_backward(
            z: Tensor, dz: Tensor, weight: Optional[Tensor],
            bias: Optional[Tensor], var: Tensor, training: bool, eps: float,
            activation: str, activation_param: float,
            gamma_mode: str) -> Tuple[Tensor, Tensor, Tensor]:
        dx, dgamma, dbeta = D.backward_core(
            z, dz, weight, bias, var, training, eps, activation,
            activation_param, gamma_mode, D.kernel_layout(z))
        compute = R.compute_dtype(z)
        return dx, dgamma.to(compute), dbeta.to(compute)

    @inplace_abn_backward.register_fake
    def _(z, dz, weight, bias, var, training, eps, activation,
          activation_param, gamma_mode):
        c = z.shape[1]
        compute = R.compute_dtype(z)
        return (torch.empty_like(z), z.new_empty(c, dtype=compute),
                z.new_empty(c, dtype=compute))

    def _setup_context(ctx, inputs, output):
        (_, weight, bias, _, _, training, eps, activation, activation_param,
         gamma_mode) = inputs
        z, mean, var = output
        ctx.mark_non_differentiable(mean, var)
        ctx.save_for_backward(z, weight, bias, var)
        ctx.config = (training, eps, activation, activation_param,
                      gamma_mode)

    def _backward(ctx, dz, _dmean, _dvar):
        z, weight, bias, var = ctx.saved_tensors
        dx, dgamma, dbeta = inplace_abn_backward(z, dz, weight, bias, var,
                                                 *ctx.config)
        return (dx, None if weight is None else dgamma.to(weight.dtype),
                None if bias is None else dbeta.to(bias.dtype), None, None,
                None, None, None, None, None)

    inplace_abn_forward.register_autograd(_backward,
                                          setup_context=_setup_context)


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
