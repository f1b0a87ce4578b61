"""Float64 finite-difference check of the fused InPlace-ABN backward: the
gradients dx, dgamma, dbeta that inplace_abn_grad computes from z alone must
match central differences of L(x, gamma, beta) = sum(dz * z(x, gamma, beta))
through inplace_abn, for each invertible activation and both gamma modes
(with |gamma| > eps, where gamma_hat is differentiable)."""

import sys

import numpy as np

import iabn_cpu as ic

SHAPE, FD = (3, 2, 4), 1
CASES = [("identity", None), ("leaky_relu", 0.2), ("elu", 1.0),
         ("elu", 0.5)]
MODES = ["sign_clamp", "abs_plus_eps"]
H = 1e-6
TOLERANCE = 1e-6


def main():
    source = ""
    names = []
    for i, (act, param) in enumerate(CASES):
        for mode in MODES:
            name = f"fused_{i}_{mode}"
            names.append((name, act, param, mode))
            source += ic.fused_step(name, SHAPE, FD, "f64", act, param, mode)
    lib = ic.compile_module(source, [])
    rng = np.random.default_rng(7)
    failures = 0
    worst = 0.0
    for name, act, param, mode in names:
        x = rng.normal(0.3, 1.5, SHAPE)
        gamma = np.array([0.8, -1.3])
        beta = np.array([0.1, -0.4])
        dz = rng.normal(0, 1, SHAPE)

        def loss(x_, g_, b_):
            z = ic.run_fused(lib, name, x_, g_, b_, dz)[0]
            return float(np.sum(dz * z))

        _, dx, dg, db = ic.run_fused(lib, name, x, gamma, beta, dz)
        for label, array, analytic in (("x", x, dx), ("gamma", gamma, dg),
                                       ("beta", beta, db)):
            numeric = np.zeros_like(array)
            for idx in np.ndindex(array.shape):
                plus, minus = array.copy(), array.copy()
                plus[idx] += H
                minus[idx] -= H
                args = {"x": (x, gamma, beta), "gamma": (x, gamma, beta),
                        "beta": (x, gamma, beta)}[label]
                a_plus = [plus if n == label else v
                          for n, v in zip(("x", "gamma", "beta"), args)]
                a_minus = [minus if n == label else v
                           for n, v in zip(("x", "gamma", "beta"), args)]
                numeric[idx] = (loss(*a_plus) - loss(*a_minus)) / (2 * H)
            err = ic.relative_error(analytic, numeric)
            worst = max(worst, err)
            if not err <= TOLERANCE:
                failures += 1
                print(f"FAIL: {name} ({act}, {mode}) d{label}: "
                      f"error {err:.3g}")
    print(f"finite differences: {len(names)} cases, worst relative error "
          f"{worst:.3g} (tolerance {TOLERANCE:g})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
