"""Where the InPlace-ABN forward and backward run.

CUDA tensors (f32, f16, bf16; contiguous or channels_last) run on the
compiler-generated kernels of libiabn_cuda.so (through the ctypes bindings of
_cuda), on torch's current stream; everything else runs the reference math of
_reference in torch (f32, or f64 for f64 data). This module holds the kernel
side only: layouts, options, workspaces and the kernel calls, with the
per-call host costs cached. It holds no math of its own.
"""

import torch

from . import _cuda
from . import _reference as R

_KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


_layouts = {}
_options = {}


def kernel_layout(x):
    """The [outer][C][inner] layout of x for the GPU kernels, or None when
    they do not apply (CPU, f64, other memory formats). Cached: these are
    per-call host costs."""
    if not x.is_cuda or x.dtype not in _KERNEL_DTYPES:
        return None
    if cuda_kernels() is None:
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


def kernel_options(activation, param, gamma_mode, eps):
    key = (activation, param, gamma_mode, eps)
    options = _options.get(key)
    if options is None:
        options = _options[key] = _cuda.Options(
            _cuda.ACTIVATIONS[activation], float(param),
            _cuda.GAMMA_MODES[gamma_mode], float(eps))
    return options


_kernels = []
_workspaces = {}


def workspace(k, layout, device):
    """A cached workspace per (device, stream, layout): the kernels run in
    stream order, so reusing it across calls on one stream is safe; layers
    running concurrently on other streams get their own."""
    key = (str(device), torch.cuda.current_stream(device).cuda_stream,
           layout.dtype, layout.outer, layout.channels, layout.inner)
    ws = _workspaces.get(key)
    if ws is None:
        ws = _workspaces[key] = k.workspace(layout, device)
    return ws


def cuda_kernels():
    """The loaded libiabn_cuda.so (_cuda.Kernels), or None where it cannot
    be loaded; tried once."""
    if not _kernels:
        try:
            _kernels.append(_cuda.Kernels())
        except OSError:
            _kernels.append(None)
    return _kernels[0]


def f32(t):
    """A per-channel tensor as the kernels take it (f32, contiguous)."""
    return None if t is None else t.detach().float().contiguous()


def like(z, dx):
    """dx in z's dtype and memory layout (the custom operator's fake
    implementation promises empty_like(z))."""
    out = torch.empty_like(z)
    out.copy_(dx)
    return out


def forward_core(x, z, weight, bias, running_mean, running_var, training,
                 factor, eps, activation, param, gamma_mode):
    """z = phi(gamma_hat * x_hat + beta) into z (which may be x); updates
    the running statistics in training. Returns (mean, var, layout): the
    statistics used (f32, or f64 for f64 data) and the kernel layout (None:
    the torch path)."""
    c = x.shape[1]
    R.check_batch(x, training)
    layout = kernel_layout(x)
    if layout is not None and z is not x and (
            z.stride() != x.stride() or kernel_layout(z) is None):
        layout = None
    if layout is not None:
        k = cuda_kernels()
        opts = kernel_options(activation, param, gamma_mode, eps)
        ws = workspace(k, layout, x.device)
        if training:
            mean, var = torch.empty(2, c, device=x.device)
            k.forward_train(layout, opts, x, z, f32(weight), f32(bias),
                            mean, var, running_mean, running_var,
                            float(factor), workspace=ws)
        else:
            mean, var = running_mean.float(), running_var.float()
            k.forward_inference(layout, opts, x, z, f32(weight),
                                f32(bias), mean, var, workspace=ws)
        return mean, var, layout
    mean, var = R.forward(x, z, weight, bias, running_mean, running_var,
                          training, factor, eps, activation, param,
                          gamma_mode)
    return mean, var, layout


def backward_core(z, dz, weight, bias, var, training, eps, activation, param,
                  gamma_mode, layout):
    """(dx, dgamma, dbeta) from z and dz alone; dx in a fresh buffer (never
    over dz: autograd may still need it). dgamma/dbeta are f32 (f64 for f64
    data), for the weight itself (sign of gamma applied in abs_plus_eps)."""
    c = z.shape[1]
    if layout is not None and training:
        k = cuda_kernels()
        opts = kernel_options(activation, param, gamma_mode, eps)
        channels_last = z.dim() == 4 and not z.is_contiguous()
        dz = dz.to(z.dtype).contiguous(
            memory_format=torch.channels_last if channels_last
            else torch.contiguous_format)
        dx = torch.empty_like(z)
        # Two allocations, not views of one: the custom operator's outputs
        # must not alias each other.
        dgamma = torch.empty(c, device=z.device)
        dbeta = torch.empty(c, device=z.device)
        k.backward(layout, opts, z, dz, dx, f32(weight), f32(bias),
                   var.float(), dgamma, dbeta,
                   workspace=workspace(k, layout, z.device))
        return dx, dgamma, dbeta
    dx, dgamma, dbeta = R.backward(z, dz, weight, bias, var, training, eps,
                                   activation, param, gamma_mode)
    return like(z, dx), dgamma, dbeta
