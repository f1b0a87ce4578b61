"""ctypes bindings of libiabn_cuda.so (runtime/cuda/iabn_cuda.h), the
compiler-generated GPU kernels, on torch CUDA tensors."""

import ctypes

import torch

from .. import _abi, _libs

# The C enums, from the generated copy of include/IABN/Runtime/KernelABI.h.
DTYPES = {torch.float32: _abi.DTYPES["f32"],
          torch.float16: _abi.DTYPES["f16"],
          torch.bfloat16: _abi.DTYPES["bf16"]}
ACTIVATIONS = dict(_abi.ACTIVATIONS)
GAMMA_MODES = dict(_abi.GAMMA_MODES)


class Layout(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("outer", ctypes.c_int64),
                ("channels", ctypes.c_int64), ("inner", ctypes.c_int64)]


class Options(ctypes.Structure):
    _fields_ = [("activation", ctypes.c_int), ("activation_param",
                                                 ctypes.c_float),
                ("gamma_mode", ctypes.c_int), ("epsilon", ctypes.c_float)]


def load(path=None):
    lib = ctypes.CDLL(path) if path else _libs.load("libiabn_cuda.so")
    lib.iabn_last_error.restype = ctypes.c_char_p
    lib.iabn_workspace_size.restype = ctypes.c_size_t
    lib.iabn_workspace_size.argtypes = [ctypes.POINTER(Layout)]
    p = ctypes.c_void_p
    lib.iabn_forward_train.argtypes = [
        ctypes.POINTER(Layout), ctypes.POINTER(Options), p, p, p, p, p, p, p,
        p, ctypes.c_float, p, ctypes.c_size_t, p]
    lib.iabn_forward_inference.argtypes = [
        ctypes.POINTER(Layout), ctypes.POINTER(Options), p, p, p, p, p, p, p,
        ctypes.c_size_t, p]
    lib.iabn_backward.argtypes = [
        ctypes.POINTER(Layout), ctypes.POINTER(Options), p, p, p, p, p, p, p,
        p, p, ctypes.c_size_t, p]
    lib.iabn_statistics.argtypes = [ctypes.POINTER(Layout), p, p, p, p,
                                    ctypes.c_size_t, p]
    lib.iabn_backward_reduce.argtypes = [
        ctypes.POINTER(Layout), ctypes.POINTER(Options), p, p, p, p, p, p, p,
        ctypes.c_size_t, p]
    lib.iabn_backward_apply.argtypes = [
        ctypes.POINTER(Layout), ctypes.POINTER(Options), p, p, p, p, p, p, p,
        ctypes.c_double, p, ctypes.c_size_t, p]
    for fn in (lib.iabn_forward_train, lib.iabn_forward_inference,
               lib.iabn_backward, lib.iabn_statistics,
               lib.iabn_backward_reduce, lib.iabn_backward_apply):
        fn.restype = ctypes.c_int
    return lib


def layout_of(x, channels_last):
    """[outer][C][inner] of a 4-d NCHW-logical tensor stored NCHW or NHWC,
    or of a 2-d (N, C) tensor."""
    if x.dim() == 2:
        return Layout(DTYPES[x.dtype], x.shape[0], x.shape[1], 1)
    n, c, h, w = x.shape
    if channels_last:
        return Layout(DTYPES[x.dtype], n * h * w, c, 1)
    return Layout(DTYPES[x.dtype], n, c, h * w)


def ptr(t):
    return ctypes.c_void_p(t.data_ptr()) if t is not None else None


class Error(RuntimeError):
    pass


class Kernels:
    def __init__(self, path=None):
        self.lib = load(path)

    def _check(self, status):
        if status != 0:
            raise Error(f"iabn status {status}: "
                        f"{self.lib.iabn_last_error().decode()}")

    def workspace(self, layout, device):
        size = self.lib.iabn_workspace_size(ctypes.byref(layout))
        return torch.empty(max(size, 4) // 4, dtype=torch.float32,
                           device=device)

    def stream(self):
        return ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)

    def _run(self, fn, layout, options, args, device, workspace):
        """fn(layout, [options,] *args, workspace, bytes, stream) on torch's
        current stream; tensors in `args` go as device pointers (None as
        NULL), numbers as they are."""
        ws = workspace if workspace is not None else self.workspace(layout,
                                                                    device)
        head = [ctypes.byref(layout)]
        if options is not None:
            head.append(ctypes.byref(options))
        values = [a if isinstance(a, (int, float)) else ptr(a) for a in args]
        self._check(fn(*head, *values, ptr(ws), ws.numel() * 4,
                       self.stream()))

    def forward_train(self, layout, options, x, z, gamma, beta, mean, var,
                      running_mean=None, running_var=None, factor=0.1,
                      workspace=None):
        self._run(self.lib.iabn_forward_train, layout, options,
                  [x, z, gamma, beta, mean, var, running_mean, running_var,
                   float(factor)], x.device, workspace)

    def forward_inference(self, layout, options, x, z, gamma, beta,
                          running_mean, running_var, workspace=None):
        self._run(self.lib.iabn_forward_inference, layout, options,
                  [x, z, gamma, beta, running_mean, running_var], x.device,
                  workspace)

    def backward(self, layout, options, z, dz, dx, gamma, beta, var, dgamma,
                 dbeta, workspace=None):
        self._run(self.lib.iabn_backward, layout, options,
                  [z, dz, dx, gamma, beta, var, dgamma, dbeta], z.device,
                  workspace)

    def statistics(self, layout, x, mean, var, workspace=None):
        """Per-channel mean and biased variance of x (synchronized BN)."""
        self._run(self.lib.iabn_statistics, layout, None, [x, mean, var],
                  x.device, workspace)

    def backward_reduce(self, layout, options, z, dz, gamma, beta, var, sums,
                        workspace=None):
        """sums = [sum g_y | sum g_y * x_hat] of this device's data."""
        self._run(self.lib.iabn_backward_reduce, layout, options,
                  [z, dz, gamma, beta, var, sums], z.device, workspace)

    def backward_apply(self, layout, options, z, dz, dx, gamma, beta, var,
                       sums, count, workspace=None):
        """dx from all-reduced sums and the global count per channel."""
        self._run(self.lib.iabn_backward_apply, layout, options,
                  [z, dz, dx, gamma, beta, var, sums, float(count)],
                  z.device, workspace)
