"""The InPlace-ABN autograd function.

Forward: z = phi(gamma_hat * x_hat + beta), written over x (the input is
marked dirty). Backward from z alone: y = phi^-1(z), g_y = dz * phi'(z),
x_hat = (y - beta) / gamma_hat; dbeta = sum g_y, dgamma_hat = sum g_y x_hat,
dx = gamma_hat * rstd * (g_y - dbeta / m - x_hat * dgamma_hat / m).

CUDA tensors (f32, f16, bf16; contiguous or channels_last) run on the
compiler-generated kernels of libiabn_cuda.so, on torch's current stream;
everything else runs the same math in torch (f32, or f64 for f64 data).
"""

import torch
from torch.autograd.function import once_differentiable

from . import _cuda, _ops

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


def compute_dtype(t):
    """The accumulation dtype for data of t's dtype: f64 for f64, else f32
    (f16/bf16 are storage only)."""
    return torch.float64 if t.dtype == torch.float64 else torch.float32


def gamma_hat(weight, mode, eps):
    if mode == "abs_plus_eps":
        return weight.abs() + eps
    clamped = weight.abs().clamp(min=eps)
    return torch.where(weight < 0, -clamped, clamped)


def _activation(y, activation, p):
    if activation == "identity":
        return y
    if activation == "leaky_relu":
        return torch.where(y >= 0, y, y * p)
    return torch.where(y >= 0, y, torch.expm1(y.clamp(max=0)) * p)


def _inverse(z, activation, p):
    if activation == "identity":
        return z
    if activation == "leaky_relu":
        return torch.where(z >= 0, z, z / p)
    tiny = 2.0 ** -52 if z.dtype == torch.float64 else 2.0 ** -23
    return torch.where(z >= 0, z, torch.log1p((z / p).clamp(min=-1 + tiny)))


def _derivative(z, activation, p):
    if activation == "identity":
        return torch.ones_like(z)
    if activation == "leaky_relu":
        return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, p))
    return torch.where(z > 0, torch.ones_like(z), z + p)


_KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


_layouts = {}
_options = {}


def _kernel_layout(x):
    """The [outer][C][inner] layout of x for the GPU kernels, or None when
    they do not apply (CPU, f64, other memory formats). Cached: these are
    per-call host costs."""
    if not x.is_cuda or x.dtype not in _KERNEL_DTYPES:
        return None
    if _cuda_kernels() is None:
        return None
    if x.is_contiguous():
        channels_last = False
    elif x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
        channels_last = True
    else:
        return None
    key = (x.dtype, tuple(x.shape), channels_last)
    layout = _layouts.get(key)
    if layout is None:
        if channels_last:
            layout = _cuda.layout_of(x, True)
        else:
            inner = x[0, 0].numel() if x.dim() > 2 else 1
            layout = _cuda.Layout(_cuda.DTYPES[x.dtype], x.shape[0],
                                  x.shape[1], inner)
        layout = _layouts[key] = layout
    return layout


def _kernel_options(activation, param, gamma_mode, eps):
    key = (activation, param, gamma_mode, eps)
    options = _options.get(key)
    if options is None:
        options = _options[key] = _cuda.Options(
            _cuda.ACTIVATIONS[activation], float(param),
            _cuda.GAMMA_MODES[gamma_mode], float(eps))
    return options


_kernels = []
_workspaces = {}


def _workspace(k, layout, device):
    """A cached workspace per (device, stream, layout): the kernels run in
    stream order, so reusing it across calls on one stream is safe; layers
    running concurrently on other streams get their own."""
    key = (str(device), torch.cuda.current_stream(device).cuda_stream,
           layout.dtype, layout.outer, layout.channels, layout.inner)
    ws = _workspaces.get(key)
    if ws is None:
        ws = _workspaces[key] = k.workspace(layout, device)
    return ws


def _cuda_kernels():
    if not _kernels:
        try:
            _kernels.append(_cuda.Kernels())
        except OSError:
            _kernels.append(None)
    return _kernels[0]


def _shape(x):
    return [1, -1] + [1] * (x.dim() - 2)


def _affine(weight, bias, gamma_mode, eps, c, compute, device):
    """gamma_hat and beta in the compute dtype (1 and 0 without affine)."""
    g = gamma_hat(weight.detach().to(compute), gamma_mode, eps) \
        if weight is not None else torch.ones(c, dtype=compute, device=device)
    b = bias.detach().to(compute) if bias is not None else \
        torch.zeros(c, dtype=compute, device=device)
    return g, b


def _f32(t):
    return None if t is None else t.detach().float().contiguous()


def forward_core(x, z, weight, bias, running_mean, running_var, training,
                 factor, eps, activation, param, gamma_mode):
    """z = phi(gamma_hat * x_hat + beta) into z (which may be x); updates
    the running statistics in training. Returns (mean, var, layout): the
    statistics used (f32, or f64 for f64 data) and the kernel layout (None:
    the torch path)."""
    c = x.shape[1]
    m = x.numel() // c
    check_batch(x, training)
    layout = _kernel_layout(x)
    if layout is not None and z is not x and (
            z.stride() != x.stride() or _kernel_layout(z) is None):
        layout = None
    if layout is not None:
        k = _cuda_kernels()
        opts = _kernel_options(activation, param, gamma_mode, eps)
        ws = _workspace(k, layout, x.device)
        if training:
            mean, var = torch.empty(2, c, device=x.device)
            k.forward_train(layout, opts, x, z, _f32(weight), _f32(bias),
                            mean, var, running_mean, running_var,
                            float(factor), workspace=ws)
        else:
            mean, var = running_mean.float(), running_var.float()
            k.forward_inference(layout, opts, x, z, _f32(weight),
                                _f32(bias), mean, var, workspace=ws)
        return mean, var, layout
    compute = compute_dtype(x)
    dims = [0] + list(range(2, x.dim()))
    shape = _shape(x)
    xc = x.detach().to(compute)
    if training:
        mean = xc.mean(dims)
        var = ((xc - mean.view(shape)) ** 2).mean(dims)
        if running_mean is not None:
            with torch.no_grad():
                running_mean.mul_(1 - factor).add_(
                    mean.to(running_mean.dtype), alpha=factor)
                running_var.mul_(1 - factor).add_(
                    (var * m / (m - 1)).to(running_var.dtype), alpha=factor)
    else:
        mean, var = running_mean.to(compute), running_var.to(compute)
    g, b = _affine(weight, bias, gamma_mode, eps, c, compute, x.device)
    scale = g * torch.rsqrt(var + eps)
    y = (xc - mean.view(shape)) * scale.view(shape) + b.view(shape)
    with torch.no_grad():
        z.copy_(_activation(y, activation, param))
    return mean, var, layout


def backward_core(z, dz, weight, bias, var, training, eps, activation, param,
                  gamma_mode, layout):
    """(dx, dgamma, dbeta) from z and dz alone; dx in a fresh buffer (never
    over dz: autograd may still need it). dgamma/dbeta are f32 (f64 for f64
    data), for the weight itself (sign of gamma applied in abs_plus_eps)."""
    c = z.shape[1]
    if layout is not None and training:
        k = _cuda_kernels()
        opts = _kernel_options(activation, param, gamma_mode, eps)
        channels_last = z.dim() == 4 and not z.is_contiguous()
        dz = dz.to(z.dtype).contiguous(
            memory_format=torch.channels_last if channels_last
            else torch.contiguous_format)
        dx = torch.empty_like(z)
        # Two allocations, not views of one: the custom operator's outputs
        # must not alias each other.
        dgamma = torch.empty(c, device=z.device)
        dbeta = torch.empty(c, device=z.device)
        k.backward(layout, opts, z, dz, dx, _f32(weight), _f32(bias),
                   var.float(), dgamma, dbeta,
                   workspace=_workspace(k, layout, z.device))
        return dx, dgamma, dbeta
    gy, xhat, coef = recover(z, dz, weight, bias, var, eps, activation, param,
                             gamma_mode)
    shape, dims = _shape(z), [0] + list(range(2, z.dim()))
    m = z.numel() // c
    dbeta = gy.sum(dims)
    dgamma = (gy * xhat).sum(dims)
    if training:
        dx = coef * (gy - dbeta.view(shape) / m -
                     xhat * dgamma.view(shape) / m)
    else:
        dx = coef * gy
    return like(z, dx), apply_gamma_sign(dgamma, weight, gamma_mode), dbeta


def recover(z, dz, weight, bias, var, eps, activation, param, gamma_mode):
    """The backward's per-element terms from z and dz alone, in the compute
    dtype: g_y = dz * phi'(z), x_hat = (phi^-1(z) - beta) / gamma_hat, and
    the per-channel gamma_hat * rstd (shaped to broadcast)."""
    compute = compute_dtype(z)
    zc, g = z.detach().to(compute), dz.to(compute)
    shape = _shape(z)
    gh, b = _affine(weight, bias, gamma_mode, eps, z.shape[1], compute,
                    z.device)
    gy = g * _derivative(zc, activation, param)
    xhat = (_inverse(zc, activation, param) - b.view(shape)) / gh.view(shape)
    coef = (gh * torch.rsqrt(var.to(compute) + eps)).view(shape)
    return gy, xhat, coef


def apply_gamma_sign(dgamma_hat, weight, gamma_mode):
    """d gamma from d gamma_hat: straight-through for sign_clamp, times
    sign(gamma) for abs_plus_eps."""
    if weight is None or gamma_mode != "abs_plus_eps":
        return dgamma_hat
    return dgamma_hat * torch.where(weight.detach() < 0, -1.0,
                                    1.0).to(dgamma_hat.dtype)


def like(z, dx):
    """dx in z's dtype and memory layout (the custom operator's fake
    implementation promises empty_like(z))."""
    out = torch.empty_like(z)
    out.copy_(dx)
    return out


class InPlaceABNFunction(torch.autograd.Function):
    """The eager form: z overwrites x (marked dirty), or goes to a new
    tensor when `inplace` is False (x is still needed elsewhere); either way
    only z is saved for the backward."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training,
                factor, eps, activation, param, gamma_mode, inplace=True):
        z = x if inplace else torch.empty_like(x)
        _, var, layout = forward_core(x, z, weight, bias, running_mean,
                                      running_var, training, factor, eps,
                                      activation, param, gamma_mode)
        if inplace:
            ctx.mark_dirty(x)
        ctx.save_for_backward(z, weight, bias, var)
        ctx.config = (training, eps, activation, param, gamma_mode, layout)
        return z

    @staticmethod
    @once_differentiable
    def backward(ctx, dz):
        z, weight, bias, var = ctx.saved_tensors
        training, eps, activation, param, gamma_mode, layout = ctx.config
        dx, dgamma, dbeta = backward_core(z, dz, weight, bias, var, training,
                                          eps, activation, param, gamma_mode,
                                          layout)
        return input_grads(ctx, dx, dgamma, dbeta, weight, bias)


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


def check_batch(x, training):
    """Training needs more than one value per channel (a single device)."""
    if training and x.numel() // x.shape[1] < 2:
        raise ValueError("Expected more than 1 value per channel when "
                         f"training, got input size {list(x.shape)}")


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
        return _activation(y, activation, activation_param)
    check_batch(x, training)
    if _ops.compiling():
        return _ops.inplace_abn(x, weight, bias, running_mean, running_var,
                                training, momentum, eps, activation,
                                activation_param, gamma_mode)
    return InPlaceABNFunction.apply(x, weight, bias, running_mean,
                                    running_var, training, momentum, eps,
                                    activation, activation_param, gamma_mode,
                                    inplace)
