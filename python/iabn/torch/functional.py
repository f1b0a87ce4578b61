"""The functional API of InPlace-ABN and its argument checks.

Forward: z = phi(gamma_hat * x_hat + beta), written over x (marked dirty);
only z is saved, and the backward recovers everything from z and dz. The
layer is the native operator iabn::inplace_abn_ (iabn::inplace_abn out of
place; iabn/csrc/ops.cpp), whose autograd is C++: the compiler-generated
CUDA kernels of libiabn_cuda.so on CUDA tensors, the reference math of
_reference elsewhere (see _native). Under torch.compile the layer is the
functional operator pair of _ops.
"""

import torch

from . import _native, _ops
from . import _reference as R
# Re-exported: code outside the package imports these from here.
from ._native import like  # noqa: F401
from ._reference import (apply_gamma_sign, check_batch,  # noqa: F401
                         compute_dtype, gamma_hat, recover)

_INPLACE = _native.ops.inplace_abn_.default
_OUT_OF_PLACE = _native.ops.inplace_abn.default

INVERTIBLE = ("identity", "leaky_relu", "elu")


def check_activation(activation, param):
    if activation == "relu":
        raise ValueError("InPlaceABN needs an invertible activation: relu is "
                         "not (use leaky_relu with a small slope, or ABN)")
    if activation not in INVERTIBLE:
        raise ValueError(f"unknown activation {activation!r}; expected one of "
                         f"{', '.join(INVERTIBLE)}")
    if activation != "identity" and not param > 0:
        raise ValueError(f"{activation} needs activation_param > 0 to be "
                         f"invertible, got {param}")


GAMMA_MODES = ("sign_clamp", "abs_plus_eps")


def check_gamma_mode(gamma_mode):
    if gamma_mode not in GAMMA_MODES:
        raise ValueError(f"gamma_mode must be sign_clamp or abs_plus_eps, got "
                         f"{gamma_mode!r}")


def input_grads(ctx, dx, dgamma, dbeta, weight, bias, arguments=12):
    """The gradients an InPlace-ABN autograd.Function returns: dx, the
    weight and bias gradients where they are needed (in their dtypes), and
    None for the other `arguments`."""
    dweight = dgamma.to(weight.dtype) if weight is not None and \
        ctx.needs_input_grad[1] else None
    dbias = dbeta.to(bias.dtype) if bias is not None and \
        ctx.needs_input_grad[2] else None
    return (dx, dweight, dbias) + (None,) * (arguments - 3)


def check_arguments(x, running_mean, running_var, training, activation,
                    activation_param, gamma_mode):
    """The argument checks shared by the functional forms."""
    check_activation(activation, activation_param)
    check_gamma_mode(gamma_mode)
    if not x.is_floating_point():
        raise TypeError(f"InPlace-ABN needs a floating-point input, got "
                        f"{x.dtype}")
    if x.dim() < 2:
        raise ValueError(f"expected an input of rank >= 2, got {x.dim()}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("evaluation mode needs running statistics")


def inplace_abn(x, weight, bias, running_mean=None, running_var=None,
                training=True, momentum=0.1, eps=1e-5,
                activation="leaky_relu", activation_param=0.01,
                gamma_mode="sign_clamp", inplace=True):
    """Functional InPlace-ABN: overwrites and returns x (a new tensor when
    `inplace` is False; the backward still needs only z). `momentum` is the
    running-statistics factor (PyTorch's convention)."""
    check_arguments(x, running_mean, running_var, training, activation,
                    activation_param, gamma_mode)
    if x.numel() == 0:
        # The empty batch behaves as nn.BatchNorm does (an empty result;
        # running statistics as F.batch_norm leaves them).
        y = torch.nn.functional.batch_norm(
            x, running_mean, running_var, weight, bias, training,
            float(momentum) if not torch.is_tensor(momentum) else
            float(momentum.item()), eps)
        return R.activation(y, activation, activation_param)
    check_batch(x, training)
    if _ops.compiling():
        return _ops.inplace_abn(x, weight, bias, running_mean, running_var,
                                training, momentum, eps, activation,
                                activation_param, gamma_mode)
    return (_INPLACE if inplace else _OUT_OF_PLACE)(
        x, weight, bias, running_mean, running_var, training,
        float(momentum), float(eps), activation, float(activation_param),
        gamma_mode)
