"""Ties the Python reference (python/iabn/torch/_reference.py, what the
PyTorch layers run on every tensor the GPU kernels do not take) to the
compiled path: the fused forward and backward (iabn.inplace_abn,
iabn.inplace_abn_grad) are compiled ahead of time for the CPU (iabn-opt
--iabn-cpu-pipeline -> mlir-translate -> clang, test/Integration/CPU/
iabn_cpu.py) and run on the same random inputs as the reference; z, mean,
var, dx, dgamma and dbeta must agree.

Cases: identity / leaky_relu / elu x sign_clamp / abs_plus_eps x f32 / f64
x random 2-d, 3-d and 4-d shapes (channels on dim 1), gamma per channel
drawn from positive, negative, |gamma| < eps (either sign) and 0.

Tolerances are relative (max |a - r| / max(1, max |r|), per channel) and
per dtype, with one widening: x_hat is recovered from z as
(phi^-1(z) - beta) / gamma_hat, so on a channel with a tiny gamma_hat each
rounding of y or z is amplified by 1 / |gamma_hat| (and, for elu, a rounding
of z by 1 / phi'(y)), and dgamma sums m such terms. dgamma's limit adds
that bound per channel (large only where |gamma_hat| is near eps); dx is not
widened (its factor gamma_hat * rstd cancels the amplification), nor are z,
mean, var and dbeta.

Usage: reference_vs_compiled.py [--seed S] [--break dgamma-sign]
--break swaps in a wrong reference (the gamma mode's dgamma sign rule
inverted) to show that the comparison fails.
"""

import argparse
import sys

import numpy as np
import torch

import iabn_cpu as ic
from iabn.torch import _reference as R

ACTIVATIONS = [("identity", None), ("leaky_relu", 0.1), ("elu", 0.7)]
MODES = ["sign_clamp", "abs_plus_eps"]
DTYPES = {"f32": (np.float32, torch.float32),
          "f64": (np.float64, torch.float64)}
# Plain relative tolerance per dtype, and the unit roundoff that the
# conditioning bound of small-gamma channels multiplies.
TOLERANCE = {"f32": 2e-5, "f64": 1e-12}
ROUNDOFF = {"f32": 2.0 ** -24, "f64": 2.0 ** -53}
EPS = 1e-5
# The safety factor on the small-gamma conditioning bound of dgamma.
RECOVERY_FACTOR = 4
OUTPUTS = ["z", "mean", "var", "dx", "dgamma", "dbeta"]


def fused_function(name, shape, dtype, act, param, mode):
    """The fused forward and backward over memrefs: inputs x, gamma, beta,
    dz; outputs z, mean, var, dx, dgamma, dbeta."""
    t, c = ic.tensor_type(shape, dtype), ic.tensor_type([shape[1]], dtype)
    mt, mc = ic.memref_type(shape, dtype), ic.memref_type([shape[1]], dtype)
    attrs = (f"{{epsilon = {ic.mlir_float(EPS)} : f64, feature_dim = 1 : "
             f"i64, gamma_mode = #iabn.gamma_mode<{mode}>}}")
    a = ic.activation_attr(act, param)
    outs = [("z", mt, t), ("mean", mc, c), ("var", mc, c), ("dx", mt, t),
            ("dg", mc, c), ("db", mc, c)]
    stores = "\n".join(
        f"  bufferization.materialize_in_destination %{n} in restrict "
        f"writable %{n}_out : ({tt}, {mm}) -> ()" for n, mm, tt in outs)
    out_args = ", ".join(f"%{n}_out: {mm}" for n, mm, _ in outs)
    return f"""
func.func @{name}(%xm: {mt}, %gm: {mc}, %bm: {mc}, %dzm: {mt}, {out_args})
    attributes {{llvm.emit_c_interface}} {{
  %x = bufferization.to_tensor %xm restrict writable : {mt} to {t}
  %g = bufferization.to_tensor %gm restrict : {mc} to {c}
  %b = bufferization.to_tensor %bm restrict : {mc} to {c}
  %dz = bufferization.to_tensor %dzm restrict writable : {mt} to {t}
  %z, %mean, %var = iabn.inplace_abn {a} %x scale %g offset %b {attrs} : {t}, {c}
  %dx, %dg, %db = iabn.inplace_abn_grad {a} %dz, %z scale %g offset %b variance(%var) {attrs} : {t}, {c}
{stores}
  return
}}
"""


def random_shapes(rng):
    """One 2-d, one 3-d and two 4-d shapes, channels on dim 1, at least two
    values per channel."""
    shapes = []
    for rank in (2, 3, 4, 4):
        while True:
            c = int(rng.integers(3, 9))
            if rank == 2:
                shape = (int(rng.integers(2, 48)), c)
            elif rank == 3:
                shape = (int(rng.integers(1, 5)), c, int(rng.integers(1, 9)))
            else:
                shape = (int(rng.integers(1, 4)), c,
                         int(rng.integers(1, 7)), int(rng.integers(1, 7)))
            if np.prod(shape) // c >= 2:
                break
        shapes.append(shape)
    return shapes


def random_gamma(rng, c):
    """Per channel: positive, negative, |gamma| < eps with either sign, or
    0, in a random order; at least one negative and one tiny (C >= 2)."""
    kinds = ["neg", "tiny"] + list(rng.choice(["pos", "neg", "tiny", "zero"],
                                              max(c - 2, 0)))
    kinds = list(rng.permutation(kinds))[:c]
    gamma = np.empty(c)
    for i, kind in enumerate(kinds):
        if kind == "pos":
            gamma[i] = rng.uniform(0.2, 2.0)
        elif kind == "neg":
            gamma[i] = -rng.uniform(0.2, 2.0)
        elif kind == "tiny":
            gamma[i] = rng.uniform(0.0, EPS) * rng.choice([-1.0, 1.0])
        else:
            gamma[i] = 0.0
    return gamma


def run_compiled(lib, name, x, gamma, beta, dz):
    c = gamma.shape[0]
    out = {"z": np.zeros_like(x), "mean": np.zeros(c, x.dtype),
           "var": np.zeros(c, x.dtype), "dx": np.zeros_like(x),
           "dgamma": np.zeros(c, x.dtype), "dbeta": np.zeros(c, x.dtype)}
    ic.call(lib, name, x.copy(), gamma.copy(), beta.copy(), dz.copy(),
            out["z"], out["mean"], out["var"], out["dx"], out["dgamma"],
            out["dbeta"])
    return out


def run_reference(x, gamma, beta, dz, act, param, mode, tdtype):
    xt, dzt = torch.from_numpy(x.copy()), torch.from_numpy(dz.copy())
    assert xt.dtype == tdtype
    w, b = torch.from_numpy(gamma.copy()), torch.from_numpy(beta.copy())
    z = torch.empty_like(xt)
    mean, var = R.forward(xt, z, w, b, None, None, True, 0.0, EPS, act,
                          param, mode)
    dx, dgamma, dbeta = R.backward(z, dzt, w, b, var, True, EPS, act, param,
                                   mode)
    return {"z": z, "mean": mean, "var": var, "dx": dx, "dgamma": dgamma,
            "dbeta": dbeta}


def tolerances(dtype, x, dz, gamma, beta, act, param, mode, dgamma):
    """The allowed error per output and channel (float64 inputs; dgamma is
    the reference's, for the scale of the relative error): the dtype's
    tolerance, and for dgamma the conditioning bound of the module
    docstring."""
    tol = TOLERANCE[dtype]
    c = gamma.shape[0]
    ghat = R.gamma_hat(torch.from_numpy(gamma), mode, EPS).numpy()
    xs = np.moveaxis(x, 1, 0).reshape(c, -1)
    dzs = np.moveaxis(dz, 1, 0).reshape(c, -1)
    xhat = (xs - xs.mean(1, keepdims=True)) / np.sqrt(
        xs.var(1, keepdims=True) + EPS)
    y = ghat[:, None] * xhat + beta[:, None]
    z = ic.activation(act, param, y)
    slope = ic.activation_derivative(act, param, y)
    # Each path rounds y, z = phi(y) and y = phi^-1(z) on its own; that
    # moves the recovered y by about u (|y| + (|z| + a) / phi'(y)) (a = alpha
    # on elu's negative side, where exp(y) - 1 or log(1 + w) may stand for
    # expm1 and log1p), and x_hat by that over |gamma_hat|; dgamma sums
    # these with the weights |g_y| = |dz| phi'(y).
    a = param if act == "elu" else 0.0
    recovery = ROUNDOFF[dtype] * np.sum(
        np.abs(dzs) * (slope * np.abs(y) + np.abs(z) + np.where(y < 0, a, 0)),
        axis=1) / np.abs(ghat)
    scale = max(1.0, float(np.max(np.abs(dgamma))))
    limits = {k: np.full(c, tol) for k in OUTPUTS}
    limits["dgamma"] = tol + RECOVERY_FACTOR * recovery / scale
    return limits


def channel_errors(actual, expected):
    """The error of each channel's values (channels on dim 1 of data,
    per-channel vectors as they are), relative to max(1, max |expected|)."""
    scale = max(1.0, float(np.max(np.abs(expected))))
    if actual.ndim == 1:
        return np.abs(actual - expected) / scale
    c = actual.shape[1]
    a = np.moveaxis(actual, 1, 0).reshape(c, -1)
    e = np.moveaxis(expected, 1, 0).reshape(c, -1)
    return np.max(np.abs(a - e), axis=1) / scale


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--break", dest="broken", choices=["dgamma-sign"])
    args = parser.parse_args()
    if args.broken == "dgamma-sign":
        right = R.apply_gamma_sign

        def wrong(dgamma_hat, weight, gamma_mode):
            flipped = {"abs_plus_eps": "sign_clamp",
                       "sign_clamp": "abs_plus_eps"}[gamma_mode]
            return right(dgamma_hat, weight, flipped)

        R.apply_gamma_sign = wrong

    rng = np.random.default_rng(args.seed)
    shapes = random_shapes(rng)
    functions = []
    source = ""
    for dtype in DTYPES:
        for act, param in ACTIVATIONS:
            for mode in MODES:
                for i, shape in enumerate(shapes):
                    name = f"abn_{dtype}_{act}_{mode}_{i}"
                    functions.append((name, dtype, act, param, mode, shape))
                    source += fused_function(name, shape, dtype, act, param,
                                             mode)
    lib = ic.compile_module(source, [])

    # Per dtype and output: the worst error, and the worst error as a
    # fraction of what its channel allows.
    worst = {dtype: {k: (0.0, 0.0) for k in OUTPUTS} for dtype in DTYPES}
    failures = []
    for name, dtype, act, param, mode, shape in functions:
        ndt, tdt = DTYPES[dtype]
        c = shape[1]
        x = rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 3), shape)
        gamma = random_gamma(rng, c)
        beta = rng.normal(0, 0.5, c)
        dz = rng.normal(0, 1, shape)
        x, gamma, beta, dz = (np.asarray(a, ndt) for a in (x, gamma, beta,
                                                           dz))
        compiled = run_compiled(lib, name, x, gamma, beta, dz)
        ref = {k: v.numpy() for k, v in run_reference(
            x, gamma, beta, dz, act, param, mode, tdt).items()}
        limits = tolerances(dtype, *(a.astype(np.float64) for a in
                                     (x, dz, gamma, beta)), act, param, mode,
                            ref["dgamma"].astype(np.float64))
        for key in OUTPUTS:
            errors = channel_errors(compiled[key].astype(np.float64),
                                    ref[key].astype(np.float64))
            ratio = errors / limits[key]
            w_err, w_ratio = worst[dtype][key]
            worst[dtype][key] = (max(w_err, float(np.max(errors))),
                                 max(w_ratio, float(np.max(ratio))))
            # "not <=" also catches NaN.
            bad = ~(errors <= limits[key])
            if np.any(bad):
                ch = int(np.argmax(np.where(bad, np.nan_to_num(
                    ratio, nan=np.inf), -1)))
                failures.append(
                    f"{name} {shape}: {key} channel {ch} (gamma "
                    f"{float(gamma[ch]):.3g}): error {errors[ch]:.3g} > "
                    f"{limits[key][ch]:.3g}")

    print(f"reference vs compiled: seed {args.seed}, {len(functions)} cases "
          f"({len(ACTIVATIONS)} activations x {len(MODES)} gamma modes x "
          f"{len(DTYPES)} dtypes x shapes {', '.join(map(str, shapes))})")
    for dtype in DTYPES:
        print(f"  {dtype}: worst error (fraction of its tolerance): " +
              ", ".join(f"{k} {worst[dtype][k][0]:.2g} "
                        f"({worst[dtype][k][1]:.2g})" for k in OUTPUTS))
    for failure in failures:
        print("FAIL:", failure)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
