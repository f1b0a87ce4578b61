"""Helpers of the CPU integration tests: build an iabn training graph,
compile it ahead of time (iabn-opt -> mlir-translate -> clang) into a shared
library, call it on NumPy arrays, and compute float64 NumPy references.

Tools come from the environment (set by lit): IABN_OPT, MLIR_TRANSLATE, CLANG.
"""

import ctypes
import math
import os
import subprocess
import tempfile

import numpy as np

# ---------------------------------------------------------------------------
# Element types
# ---------------------------------------------------------------------------

STORAGE = {"f64": np.float64, "f32": np.float32, "f16": np.float16,
           "bf16": np.uint16}


def to_bf16_bits(a):
    """float -> bf16 bit patterns (round to nearest even)."""
    a = np.asarray(a, dtype=np.float32)
    bits = a.reshape(-1).view(np.uint32).astype(np.uint64)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + rounding) >> 16).astype(np.uint16).reshape(a.shape)


def from_bf16_bits(a):
    a = np.asarray(a, dtype=np.uint16)
    return (a.reshape(-1).astype(np.uint32) << 16).view(np.float32).reshape(
        a.shape)


def to_storage(a, dtype):
    """float64 array -> the storage representation of `dtype`."""
    if dtype == "bf16":
        return to_bf16_bits(a)
    return np.asarray(a, dtype=STORAGE[dtype])


def to_float64(a, dtype):
    if dtype == "bf16":
        return from_bf16_bits(a).astype(np.float64)
    return np.asarray(a).astype(np.float64)


def channel_dtype(dtype):
    return "f64" if dtype == "f64" else "f32"


# ---------------------------------------------------------------------------
# Compilation and calls
# ---------------------------------------------------------------------------

def _tool(name):
    path = os.environ.get(name)
    if not path:
        raise RuntimeError(f"environment variable {name} is not set (run "
                           "through lit)")
    return path


def compile_module(source, passes, workdir=None):
    """Compiles MLIR `source` with `iabn-opt <passes> --iabn-cpu-pipeline`
    into a shared library and loads it."""
    workdir = workdir or tempfile.mkdtemp(prefix="iabn-cpu-")
    src = os.path.join(workdir, "graph.mlir")
    llvm_dialect = os.path.join(workdir, "graph.llvm.mlir")
    llvm_ir = os.path.join(workdir, "graph.ll")
    lib = os.path.join(workdir, "graph.so")
    with open(src, "w") as f:
        f.write(source)
    subprocess.run([_tool("IABN_OPT"), src, *passes, "--iabn-cpu-pipeline",
                    "-o", llvm_dialect], check=True,
                   stderr=subprocess.DEVNULL if "--iabn-pipeline" in
                   " ".join(passes) else None)
    subprocess.run([_tool("MLIR_TRANSLATE"), "--mlir-to-llvmir", llvm_dialect,
                    "-o", llvm_ir], check=True)
    subprocess.run([_tool("CLANG"), "-O2", "-shared", "-fPIC", "-w", llvm_ir,
                    "-o", lib, "-lm"], check=True)
    return ctypes.CDLL(lib)


def _descriptor(array):
    """A ranked memref descriptor pointing at `array` (C-contiguous)."""
    rank = array.ndim
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank),
                   ("strides", ctypes.c_int64 * rank)]
    desc_type = type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})
    desc = desc_type()
    desc.allocated = desc.aligned = array.ctypes.data
    desc.offset = 0
    if rank:
        for i in range(rank):
            desc.sizes[i] = array.shape[i]
            desc.strides[i] = array.strides[i] // array.itemsize
    return desc


def call(lib, name, *arrays):
    """Calls `_mlir_ciface_<name>` with memref descriptors of `arrays` (which
    must stay alive and C-contiguous); outputs are written in place."""
    for a in arrays:
        assert a.flags["C_CONTIGUOUS"], "arrays must be C-contiguous"
    descriptors = [_descriptor(a) for a in arrays]
    fn = getattr(lib, f"_mlir_ciface_{name}")
    fn.restype = None
    fn(*[ctypes.byref(d) for d in descriptors])


# ---------------------------------------------------------------------------
# Graph generation
# ---------------------------------------------------------------------------

def tensor_type(shape, dtype):
    dims = "x".join("?" if d is None else str(d) for d in shape)
    return f"tensor<{dims}x{dtype}>" if shape else f"tensor<{dtype}>"


def memref_type(shape, dtype):
    dims = "x".join("?" if d is None else str(d) for d in shape)
    return f"memref<{dims}x{dtype}>" if shape else f"memref<{dtype}>"


def mlir_float(value):
    """A float literal MLIR parses (it needs digits before the exponent)."""
    return f"{float(value):.17e}"


def activation_attr(act, param):
    return f"<{act}>" if param is None else f"<{act}, {mlir_float(param)}>"


def training_step(name, shape, feature_dim, dtype, act, param, eps=1e-5,
                  momentum=0.1, grad_from_output=True):
    """A joint forward+backward training step of one BN -> activation chain,
    with running statistics, in the framework form (batch_norm_train,
    activation, activation_grad, batch_norm_train_grad), wrapped in a
    function over memrefs: inputs x, gamma, beta, dz, running mean/var;
    outputs z, dx, dgamma, dbeta, new running mean/var."""
    cdt = channel_dtype(dtype)
    channels = [shape[feature_dim]]
    t, c = tensor_type(shape, dtype), tensor_type(channels, cdt)
    mt, mc = memref_type(shape, dtype), memref_type(channels, cdt)
    samples = 1
    for i, d in enumerate(shape):
        if i != feature_dim:
            samples *= d
    attrs = (f"{{epsilon = {mlir_float(eps)} : f64, "
             f"feature_dim = {feature_dim} : i64}}")
    a = activation_attr(act, param)
    source = "%z {self_is_result}" if grad_from_output else "%y"
    return f"""
func.func @{name}(%xm: {mt}, %gm: {mc}, %bm: {mc}, %dzm: {mt}, %rmm: {mc},
    %rvm: {mc}, %z_out: {mt}, %dx_out: {mt}, %dg_out: {mc}, %db_out: {mc},
    %rm_out: {mc}, %rv_out: {mc}) attributes {{llvm.emit_c_interface}} {{
  %x = bufferization.to_tensor %xm restrict writable : {mt} to {t}
  %g = bufferization.to_tensor %gm restrict : {mc} to {c}
  %b = bufferization.to_tensor %bm restrict : {mc} to {c}
  %dz = bufferization.to_tensor %dzm restrict writable : {mt} to {t}
  %rm = bufferization.to_tensor %rmm restrict : {mc} to {c}
  %rv = bufferization.to_tensor %rvm restrict : {mc} to {c}
  %y, %mean, %var = iabn.batch_norm_train %x scale %g offset %b {attrs} : {t}, {c}
  %rm2, %rv2 = iabn.running_stats_update %rm, %rv, %mean, %var {{momentum = {mlir_float(momentum)} : f64, sample_count = {samples} : i64}} : {c}
  %z = iabn.activation {a} %y : {t}
  %dy = iabn.activation_grad {a} %dz, {source} : {t}
  %dx, %dg, %db = iabn.batch_norm_train_grad %dy, %x scale %g stats(%mean, %var) {attrs} : {t}, {c}
  bufferization.materialize_in_destination %z in restrict writable %z_out : ({t}, {mt}) -> ()
  bufferization.materialize_in_destination %dx in restrict writable %dx_out : ({t}, {mt}) -> ()
  bufferization.materialize_in_destination %dg in restrict writable %dg_out : ({c}, {mc}) -> ()
  bufferization.materialize_in_destination %db in restrict writable %db_out : ({c}, {mc}) -> ()
  bufferization.materialize_in_destination %rm2 in restrict writable %rm_out : ({c}, {mc}) -> ()
  bufferization.materialize_in_destination %rv2 in restrict writable %rv_out : ({c}, {mc}) -> ()
  return
}}
"""


class Step:
    """Inputs and outputs of one training step, in storage types."""

    def __init__(self, shape, feature_dim, dtype, rng, x=None, gamma=None,
                 beta=None, dz=None):
        self.shape, self.feature_dim, self.dtype = shape, feature_dim, dtype
        c = shape[feature_dim]
        cdt = STORAGE[channel_dtype(dtype)]
        x = rng.normal(0.5, 2.0, shape) if x is None else x
        dz = rng.normal(0.0, 1.0, shape) if dz is None else dz
        gamma = rng.uniform(0.5, 1.5, c) * rng.choice([-1, 1], c) \
            if gamma is None else gamma
        beta = rng.normal(0.0, 0.5, c) if beta is None else beta
        self.x = to_storage(x, dtype)
        self.dz = to_storage(dz, dtype)
        self.gamma = np.asarray(gamma, dtype=cdt)
        self.beta = np.asarray(beta, dtype=cdt)
        self.running_mean = np.asarray(rng.normal(0, 1, c), dtype=cdt)
        self.running_var = np.asarray(rng.uniform(0.5, 2, c), dtype=cdt)

    def run(self, lib, name):
        """Runs `name`; returns float64 outputs (inputs are copied, since the
        in-place graph overwrites x and dz)."""
        sdt = self.x.dtype
        cdt = self.gamma.dtype
        outs = {k: np.zeros(self.shape, sdt) for k in ("z", "dx")}
        outs.update({k: np.zeros(self.gamma.shape, cdt)
                     for k in ("dgamma", "dbeta", "running_mean",
                               "running_var")})
        call(lib, name, self.x.copy(), self.gamma.copy(), self.beta.copy(),
             self.dz.copy(), self.running_mean.copy(),
             self.running_var.copy(), outs["z"], outs["dx"], outs["dgamma"],
             outs["dbeta"], outs["running_mean"], outs["running_var"])
        cdt_name = channel_dtype(self.dtype)
        return {k: to_float64(v, self.dtype if k in ("z", "dx") else cdt_name)
                for k, v in outs.items()}


# ---------------------------------------------------------------------------
# NumPy float64 reference
# ---------------------------------------------------------------------------

def activation(act, param, y):
    if act == "identity":
        return y
    if act == "relu":
        return np.maximum(y, 0)
    if act == "leaky_relu":
        return np.where(y >= 0, y, param * y)
    if act == "elu":
        return np.where(y >= 0, y, param * np.expm1(np.minimum(y, 0)))
    if act == "relu6":
        return np.clip(y, 0, 6)
    if act == "silu":
        return y / (1 + np.exp(-y))
    if act == "gelu":
        return 0.5 * y * (1 + _erf(y / math.sqrt(2)))
    if act == "hardswish":
        return y * np.clip(y + 3, 0, 6) / 6
    raise ValueError(act)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def activation_derivative(act, param, y):
    if act == "identity":
        return np.ones_like(y)
    if act == "relu":
        return (y > 0).astype(np.float64)
    if act == "leaky_relu":
        return np.where(y > 0, 1.0, param)
    if act == "elu":
        return np.where(y > 0, 1.0, param * np.exp(np.minimum(y, 0)))
    if act == "relu6":
        return ((y > 0) & (y < 6)).astype(np.float64)
    if act == "silu":
        s = 1 / (1 + np.exp(-y))
        return s * (1 + y * (1 - s))
    if act == "gelu":
        cdf = 0.5 * (1 + _erf(y / math.sqrt(2)))
        return cdf + y * np.exp(-0.5 * y * y) / math.sqrt(2 * math.pi)
    if act == "hardswish":
        return np.where(y < -3, 0.0, np.where(y <= 3, y / 3 + 0.5, 1.0))
    raise ValueError(act)


def gamma_hat(gamma, mode, eps):
    if mode is None:  # standard batch norm
        return gamma
    if mode == "abs_plus_eps":
        return np.abs(gamma) + eps
    clamped = np.maximum(np.abs(gamma), eps)
    return np.where(gamma < 0, -clamped, clamped)


def reference(step, act, param, eps=1e-5, momentum=0.1, mode=None):
    """PyTorch's training-mode BatchNorm + activation, forward and backward,
    in float64 from the (storage-rounded) inputs; `mode` selects the fused
    ops' gamma_hat (None: standard BN)."""
    x = to_float64(step.x, step.dtype)
    dz = to_float64(step.dz, step.dtype)
    gamma = step.gamma.astype(np.float64)
    beta = step.beta.astype(np.float64)
    fd = step.feature_dim
    axes = tuple(i for i in range(x.ndim) if i != fd)
    bshape = [1] * x.ndim
    bshape[fd] = -1
    m = x.size // x.shape[fd]
    mean = x.mean(axis=axes)
    var = ((x - mean.reshape(bshape)) ** 2).mean(axis=axes)
    rstd = 1.0 / np.sqrt(var + eps)
    g = gamma_hat(gamma, mode, eps)
    xhat = (x - mean.reshape(bshape)) * rstd.reshape(bshape)
    y = g.reshape(bshape) * xhat + beta.reshape(bshape)
    z = activation(act, param, y)
    gy = dz * activation_derivative(act, param, y)
    dbeta = gy.sum(axis=axes)
    dghat = (gy * xhat).sum(axis=axes)
    dx = (g * rstd).reshape(bshape) * (
        gy - dbeta.reshape(bshape) / m - xhat * dghat.reshape(bshape) / m)
    dgamma = dghat * np.where(gamma < 0, -1.0, 1.0) \
        if mode == "abs_plus_eps" else dghat
    running_mean = (1 - momentum) * step.running_mean + momentum * mean
    running_var = (1 - momentum) * step.running_var + \
        momentum * var * m / (m - 1)
    return {"z": z, "dx": dx, "dgamma": dgamma, "dbeta": dbeta,
            "running_mean": running_mean, "running_var": running_var}


def relative_error(actual, expected):
    """max |actual - expected| / max(1, max |expected|)."""
    scale = max(1.0, float(np.max(np.abs(expected))))
    return float(np.max(np.abs(actual - expected))) / scale


def fused_step(name, shape, feature_dim, dtype, act, param, mode="sign_clamp",
               eps=1e-5):
    """The fused InPlace-ABN forward and backward written directly:
    inputs x, gamma, beta, dz; outputs z, dx, dgamma, dbeta. Dimensions
    given as None are dynamic."""
    cdt = channel_dtype(dtype)
    channels = [shape[feature_dim]]
    t, c = tensor_type(shape, dtype), tensor_type(channels, cdt)
    mt, mc = memref_type(shape, dtype), memref_type(channels, cdt)
    attrs = (f"{{epsilon = {mlir_float(eps)} : f64, feature_dim = "
             f"{feature_dim} : i64, gamma_mode = #iabn.gamma_mode<{mode}>}}")
    a = activation_attr(act, param)
    return f"""
func.func @{name}(%xm: {mt}, %gm: {mc}, %bm: {mc}, %dzm: {mt},
    %z_out: {mt}, %dx_out: {mt}, %dg_out: {mc}, %db_out: {mc})
    attributes {{llvm.emit_c_interface}} {{
  %x = bufferization.to_tensor %xm restrict writable : {mt} to {t}
  %g = bufferization.to_tensor %gm restrict : {mc} to {c}
  %b = bufferization.to_tensor %bm restrict : {mc} to {c}
  %dz = bufferization.to_tensor %dzm restrict writable : {mt} to {t}
  %z, %mean, %var = iabn.inplace_abn {a} %x scale %g offset %b {attrs} : {t}, {c}
  %dx, %dg, %db = iabn.inplace_abn_grad {a} %dz, %z scale %g offset %b variance(%var) {attrs} : {t}, {c}
  bufferization.materialize_in_destination %z in restrict writable %z_out : ({t}, {mt}) -> ()
  bufferization.materialize_in_destination %dx in restrict writable %dx_out : ({t}, {mt}) -> ()
  bufferization.materialize_in_destination %dg in restrict writable %dg_out : ({c}, {mc}) -> ()
  bufferization.materialize_in_destination %db in restrict writable %db_out : ({c}, {mc}) -> ()
  return
}}
"""


def run_fused(lib, name, x, gamma, beta, dz):
    """Runs a fused_step function on storage-typed arrays; returns the raw
    outputs (z, dx, dgamma, dbeta)."""
    z, dx = np.zeros_like(x), np.zeros_like(x)
    dg, db = np.zeros_like(gamma), np.zeros_like(gamma)
    call(lib, name, x.copy(), gamma.copy(), beta.copy(), dz.copy(), z, dx, dg,
         db)
    return z, dx, dg, db
