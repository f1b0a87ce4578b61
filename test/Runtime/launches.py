"""Calls every entry point of libiabn_cuda.so against the fake CUDA driver
(test/Runtime/fake_cuda.cpp, which prints each kernel launch with its
parameters) with made-up device addresses: the kernel sequence, variants,
grids and arguments the runtime chooses, and its error reporting, without a
GPU. Usage: LD_LIBRARY_PATH=<fake driver dir> python3 launches.py LIB"""

import ctypes
import os
import sys


class Layout(ctypes.Structure):  # iabn_layout
    _fields_ = [("dtype", ctypes.c_int), ("outer", ctypes.c_int64),
                ("channels", ctypes.c_int64), ("inner", ctypes.c_int64)]


class Options(ctypes.Structure):  # iabn_options
    _fields_ = [("activation", ctypes.c_int),
                ("activation_param", ctypes.c_float),
                ("gamma_mode", ctypes.c_int), ("epsilon", ctypes.c_float)]


def lib():
    """The library with its entry points' C signatures."""
    lib = ctypes.CDLL(sys.argv[1])
    lay, opt = ctypes.POINTER(Layout), ctypes.POINTER(Options)
    p, n, f, d = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_float,
                  ctypes.c_double)
    lib.iabn_last_error.restype = ctypes.c_char_p
    lib.iabn_workspace_size.restype = n
    lib.iabn_workspace_size.argtypes = [lay]
    signatures = {
        "iabn_forward_train": [lay, opt] + [p] * 8 + [f, p, n, p],
        "iabn_forward_inference": [lay, opt] + [p] * 7 + [n, p],
        "iabn_backward": [lay, opt] + [p] * 9 + [n, p],
        "iabn_statistics": [lay] + [p] * 4 + [n, p],
        "iabn_backward_reduce": [lay, opt] + [p] * 7 + [n, p],
        "iabn_backward_apply": [lay, opt] + [p] * 7 + [d, p, n, p],
    }
    for name, argtypes in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = argtypes, ctypes.c_int
    return lib


def load_abi():
    """The enums of include/IABN/Runtime/KernelABI.h, through their generated
    Python copy (python/iabn/_abi.py), never retyped here."""
    import importlib.util
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    spec = importlib.util.spec_from_file_location(
        "iabn_abi", os.path.join(root, "python", "iabn", "_abi.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ABI = load_abi()
F32, F16 = ABI.DTYPES["f32"], ABI.DTYPES["f16"]
IDENTITY, RELU, LEAKY, ELU, GELU, SILU = (ABI.ACTIVATIONS[name] for name in (
    "identity", "relu", "leaky_relu", "elu", "gelu", "silu"))

# Made-up, 16-byte aligned device addresses (the fake driver reads none).
X, Z, DZ, DX = 0x100000, 0x200000, 0x300000, 0x400000
GAMMA, BETA, MEAN, VAR, RM, RV, SUMS, WS = (0x10000 * k for k in range(1, 9))


def call(name, fn, *args):
    sys.stdout.flush()
    status = fn(*args)
    message = L.iabn_last_error().decode()
    print(f"== {name}: status {status}" + (f" ({message})" if message else ""),
          flush=True)


def layout(dtype, outer, c, inner):
    return ctypes.byref(Layout(dtype, outer, c, inner))


def options(act, param=0.01, mode=0, eps=1e-5):
    return ctypes.byref(Options(act, param, mode, eps))


L = lib()
WS_BYTES = 1 << 30

print("== case: forward_train f32 NCHW (8, 64, 56*56), aligned", flush=True)
call("forward_train", L.iabn_forward_train, layout(F32, 8, 64, 3136),
     options(LEAKY), X, Z, GAMMA, BETA, MEAN, VAR, RM, RV, 0.1, WS, WS_BYTES,
     None)

print("== case: forward_train f32 NCHW, x misaligned by 4 bytes", flush=True)
call("forward_train", L.iabn_forward_train, layout(F32, 8, 64, 3136),
     options(ELU, 0.7), X + 4, Z + 4, None, None, MEAN, VAR, None, None, 0.0,
     WS, WS_BYTES, None)

print("== case: forward_train f16 channels-last (N*H*W = 2048, C = 64)",
      flush=True)
call("forward_train", L.iabn_forward_train, layout(F16, 2048, 64, 1),
     options(IDENTITY), X, X, GAMMA, BETA, MEAN, VAR, RM, RV, 0.5, WS,
     WS_BYTES, None)

print("== case: forward_inference f32 (4, 3, 5*7) gelu", flush=True)
call("forward_inference", L.iabn_forward_inference, layout(F32, 4, 3, 35),
     options(GELU), X, Z, GAMMA, BETA, RM, RV, WS, WS_BYTES, None)

print("== case: forward_inference f32 (4, 3, 5*7)", flush=True)
call("forward_inference", L.iabn_forward_inference, layout(F32, 4, 3, 35),
     options(LEAKY, 0.2, 1), X, Z, GAMMA, BETA, RM, RV, WS, WS_BYTES, None)

print("== case: backward f32 NCHW (8, 64, 3136), abs_plus_eps", flush=True)
call("backward", L.iabn_backward, layout(F32, 8, 64, 3136),
     options(LEAKY, 0.01, 1), Z, DZ, DX, GAMMA, BETA, VAR, MEAN, RM, WS,
     WS_BYTES, None)

print("== case: backward f16 channels-last (2048, 64, 1)", flush=True)
call("backward", L.iabn_backward, layout(F16, 2048, 64, 1), options(ELU, 1.0),
     Z, DZ, DZ, GAMMA, BETA, VAR, MEAN, RM, WS, WS_BYTES, None)

print("== case: statistics f32 (1, 16, 1): one value per channel", flush=True)
call("statistics", L.iabn_statistics, layout(F32, 1, 16, 1), X, MEAN, VAR, WS,
     WS_BYTES, None)

print("== case: backward_reduce + backward_apply f32 (8, 64, 3136), "
      "abs_plus_eps, global count 50000", flush=True)
call("backward_reduce", L.iabn_backward_reduce, layout(F32, 8, 64, 3136),
     options(LEAKY, 0.01, 1), Z, DZ, GAMMA, BETA, VAR, SUMS, WS, WS_BYTES,
     None)
call("backward_apply", L.iabn_backward_apply, layout(F32, 8, 64, 3136),
     options(LEAKY, 0.01, 1), Z, DZ, DX, GAMMA, BETA, VAR, SUMS, 50000.0, WS,
     WS_BYTES, None)

print("== case: errors (no launches expected)", flush=True)
call("relu backward", L.iabn_backward, layout(F32, 4, 3, 1), options(RELU), Z,
     DZ, DX, GAMMA, BETA, VAR, MEAN, RM, WS, WS_BYTES, None)
call("silu backward", L.iabn_backward, layout(F32, 4, 3, 1), options(SILU), Z,
     DZ, DX, GAMMA, BETA, VAR, MEAN, RM, WS, WS_BYTES, None)
call("apply count below the local count", L.iabn_backward_apply,
     layout(F32, 4, 3, 1), options(LEAKY), Z, DZ, DX, GAMMA, BETA, VAR, SUMS,
     3.0, WS, WS_BYTES, None)
call("small workspace", L.iabn_forward_train, layout(F32, 8, 64, 3136),
     options(LEAKY), X, Z, GAMMA, BETA, MEAN, VAR, None, None, 0.1, WS, 16,
     None)
call("statistics of a null x", L.iabn_statistics, layout(F32, 4, 3, 1), None,
     MEAN, VAR, WS, WS_BYTES, None)
os.environ["IABN_FAKE_CUDA_FAIL"] = "finalize_stats"
call("a failing launch", L.iabn_forward_train, layout(F32, 8, 64, 3136),
     options(LEAKY), X, Z, GAMMA, BETA, MEAN, VAR, None, None, 0.1, WS,
     WS_BYTES, None)
del os.environ["IABN_FAKE_CUDA_FAIL"]
call("non-finite count", L.iabn_backward_apply, layout(F32, 4, 3, 1),
     options(LEAKY), Z, DZ, DX, GAMMA, BETA, VAR, SUMS, float("inf"), WS,
     WS_BYTES, None)
call("too many channels", L.iabn_forward_inference,
     layout(F32, 1, (1 << 24) + 1, 1), options(LEAKY), X, Z, GAMMA, BETA, RM,
     RV, WS, WS_BYTES, None)
call("sizes whose product wraps int64", L.iabn_forward_inference,
     layout(F32, 1 << 40, 4, 1 << 30), options(LEAKY), X, Z, GAMMA, BETA, RM,
     RV, WS, WS_BYTES, None)
print("== workspace bytes (8, 64, 3136) f32:",
      L.iabn_workspace_size(ctypes.byref(Layout(F32, 8, 64, 3136))),
      flush=True)
