"""Runs the framework-form training step (BN + activation + their gradients)
and the InPlace-ABN-rewritten one on the CPU, for every activation and layout
of one element type, and compares z, dx, dgamma, dbeta and the running
statistics with a float64 NumPy reference (and with each other).

Usage: check_equivalence.py --dtype f32 [--print-table]
"""

import argparse
import subprocess
import sys

import numpy as np

import iabn_cpu as ic

# Worst allowed relative error (max |a - r| / max(1, max |r|)) per dtype.
# f16/bf16 store every tensor with 11/8 significant bits; arithmetic is f32.
TOLERANCE = {"f64": 1e-12, "f32": 1e-5, "f16": 1e-2, "bf16": 5e-2}

LAYOUTS = {
    "nchw": ((4, 3, 5, 3), 1),
    "nhwc": ((4, 5, 3, 3), 3),
    "bn1d": ((16, 5), 1),
    "ncdhw": ((2, 3, 2, 3, 4), 1),
}
# (activation, parameter, gradient read from the output z?). relu, relu6,
# silu, gelu and hardswish are not invertible: the rewrite applies the store-y
# strategy to them.
ACTIVATIONS = [("identity", None, True), ("leaky_relu", 0.1, True),
               ("elu", 0.7, True), ("relu", None, False),
               ("relu6", None, True), ("silu", None, False),
               ("gelu", None, False), ("hardswish", None, False)]
INVERTIBLE = {"identity", "leaky_relu", "elu"}
OUTPUTS = ["z", "dx", "dgamma", "dbeta", "running_mean", "running_var"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dtype", required=True, choices=list(TOLERANCE))
    args = parser.parse_args()
    dtype = args.dtype

    functions = []
    source = ""
    for layout, (shape, fd) in LAYOUTS.items():
        for act, param, from_output in ACTIVATIONS:
            name = f"step_{layout}_{act}"
            functions.append((name, shape, fd, act, param))
            source += ic.training_step(name, shape, fd, dtype, act, param,
                                       grad_from_output=from_output)

    # The rewrite must really apply: every chain becomes InPlace-ABN; the
    # 3 invertible activations x 4 layouts in place from z (2 in 16 bits),
    # the others by
    # the store-y strategy (an identity-fused InPlace-ABN that stores y, then
    # the activation).
    rewritten = subprocess.run(
        [ic._tool("IABN_OPT"), "-", "--iabn-pipeline"], input=source,
        capture_output=True, text=True, check=True).stdout
    fused = rewritten.count("iabn.inplace_abn ")
    store_y = rewritten.count("iabn.inplace_abn_grad <identity>") - 4
    left = rewritten.count("iabn.batch_norm")
    chains = len(LAYOUTS) * len(ACTIVATIONS)
    # elu on 16-bit tensors takes store-y too (its inverse loses a 16-bit
    # z's precision near -alpha).
    in_place = INVERTIBLE - ({"elu"} if dtype in ("f16", "bf16") else set())
    expect_y = len(LAYOUTS) * (len(ACTIVATIONS) - len(in_place))
    if fused != chains or store_y != expect_y or left != 0:
        print(f"FAIL: expected {chains} fused chains ({expect_y} of them "
              f"store-y) and no batch norm left, got {fused}, {store_y} "
              f"and {left}")
        return 1

    original = ic.compile_module(source, [])
    inplace = ic.compile_module(source, ["--iabn-pipeline"])
    abs_mode = ic.compile_module(
        source, ["--iabn-pipeline=gamma-mode=abs_plus_eps"])

    rng = np.random.default_rng(1234)
    tol = TOLERANCE[dtype]
    worst = {}
    failures = []
    for name, shape, fd, act, param in functions:
        step = ic.Step(shape, fd, dtype, rng)
        expected = ic.reference(step, act, param)
        results = {"original": step.run(original, name),
                   "rewritten": step.run(inplace, name)}
        if act in INVERTIBLE:  # gamma modes apply to the fused ops only
            results["rewritten abs_plus_eps"] = step.run(abs_mode, name)
        for variant, result in results.items():
            ref = expected if variant != "rewritten abs_plus_eps" else \
                ic.reference(step, act, param, mode="abs_plus_eps")
            for key in OUTPUTS:
                err = ic.relative_error(result[key], ref[key])
                worst[key] = max(worst.get(key, 0.0), err)
                if not np.isfinite(err) or err > tol:
                    failures.append(f"{name} {variant} {key}: error {err:.3g}"
                                    f" > {tol:g}")
    print(f"dtype {dtype}: worst relative error per output over "
          f"{len(functions)} graphs x (original, rewritten, abs_plus_eps)")
    for key in OUTPUTS:
        print(f"  {key:13s} {worst[key]:.3g}")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
