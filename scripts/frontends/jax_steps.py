#!/usr/bin/env python3
"""Regenerates the JAX front-end fixtures under test/Frontends/Inputs/jax:
training steps (loss and gradients, updated batch statistics) of small Flax
models with BatchNorm, lowered by JAX to StableHLO and converted to linalg
by IREE's input pipeline, as a compiler engineer gets them.

Needs a virtual environment (not part of CI; see docs/frontends.md):
    python3 -m venv /work/venvs/jax
    /work/venvs/jax/bin/pip install "jax[cpu]==0.10.2" flax==0.12.8 \\
        iree-base-compiler==3.13.0
    /work/venvs/jax/bin/python scripts/frontends/jax_steps.py

Route: jax.jit(step).lower(...).as_text() (StableHLO), then
`iree-compile --iree-input-type=stablehlo --compile-to=input`, then
util.func / util.return renamed to func.func / func.return (the rest parses
in upstream MLIR 22).
"""

import os
import re
import subprocess
import sys
import tempfile

import flax.linen as nn
import jax
import jax.numpy as jnp

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "test", "Frontends", "Inputs", "jax")


class Net(nn.Module):
    activation: str = "leaky_relu"

    @nn.compact
    def __call__(self, x, train=True):
        x = nn.Conv(4, (3, 3), use_bias=False)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9,
                         epsilon=1e-5)(x)
        if self.activation == "leaky_relu":
            x = nn.leaky_relu(x, 0.01)
        elif self.activation == "relu":
            x = nn.relu(x)
        return nn.Conv(2, (1, 1))(x)


class TwoChains(nn.Module):
    """conv -> BN -> leaky_relu -> conv -> BN -> relu -> conv (NHWC)."""

    @nn.compact
    def __call__(self, x, train=True):
        x = nn.Conv(4, (3, 3), use_bias=False)(x)
        x = nn.leaky_relu(nn.BatchNorm(use_running_average=not train,
                                       epsilon=1e-5)(x), 0.01)
        x = nn.Conv(4, (3, 3), use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=not train,
                                 epsilon=1e-5)(x))
        return nn.Conv(2, (1, 1))(x)


class PreAct(nn.Module):
    """A pre-activation residual block after a stem conv: the shortcut reads
    the first BN's input."""

    @nn.compact
    def __call__(self, x, train=True):
        x = nn.Conv(4, (3, 3))(x)
        out = nn.relu(nn.BatchNorm(use_running_average=not train,
                                   epsilon=1e-5)(x))
        out = nn.Conv(4, (3, 3), use_bias=False)(out)
        out = nn.relu(nn.BatchNorm(use_running_average=not train,
                                   epsilon=1e-5)(out))
        out = nn.Conv(4, (3, 3), use_bias=False)(out)
        return out + x


class MLP(nn.Module):
    """Dense -> BN -> elu, twice, then Dense: BatchNorm on (N, C)."""

    @nn.compact
    def __call__(self, x, train=True):
        for _ in range(2):
            x = nn.Dense(8)(x)
            x = nn.elu(nn.BatchNorm(use_running_average=not train,
                                    epsilon=1e-5)(x))
        return nn.Dense(3)(x)


def step_of(model):
    def step(params, stats, x):
        def loss(p):
            y, updates = model.apply({"params": p, "batch_stats": stats}, x,
                                     mutable=["batch_stats"])
            return jnp.sum(jnp.square(y - 0.5)), updates["batch_stats"]
        (value, new_stats), grads = jax.value_and_grad(loss, has_aux=True)(
            params)
        return value, grads, new_stats
    return step


def iree_compile():
    here = os.path.dirname(sys.executable)
    return os.path.join(here, "iree-compile")


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [(f"conv_bn_{a}_nhwc", Net(a), (2, 6, 6, 3),
              f"Conv(4, 3x3) -> BatchNorm -> {a} -> Conv(2, 1x1)")
             for a in ("leaky_relu", "relu")]
    cases += [
        ("conv_bn_leaky_relu_conv_bn_relu_nhwc", TwoChains(), (2, 6, 6, 3),
         "conv -> BN -> leaky_relu -> conv -> BN -> relu -> conv"),
        ("preact_residual_block_nhwc", PreAct(), (2, 6, 6, 3),
         "stem conv, then BN -> relu -> conv twice plus the shortcut"),
        ("mlp_bn_elu", MLP(), (16, 5),
         "Dense(8) -> BatchNorm -> elu, twice, then Dense(3)"),
    ]
    for name, model, shape, text in cases:
        x = jax.random.normal(jax.random.PRNGKey(1), shape, jnp.float32)
        variables = model.init(jax.random.PRNGKey(0), x)
        lowered = jax.jit(step_of(model)).lower(
            variables["params"], variables["batch_stats"], x)
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "step.mlir")
            with open(src, "w") as f:
                f.write(lowered.as_text())
            out = subprocess.run(
                [iree_compile(), "--iree-input-type=stablehlo",
                 "--compile-to=input", src], check=True,
                capture_output=True, text=True).stdout
        out = re.sub(r"\butil\.func\b", "func.func", out)
        out = re.sub(r"\butil\.return\b", "func.return", out)
        path = os.path.join(OUT, f"{name}.mlir")
        with open(path, "w") as f:
            f.write(f"// Generated by scripts/frontends/jax_steps.py (jax "
                    f"{jax.__version__}): the training step of a Flax\n"
                    f"// {text}, on a {shape} batch\n")
            f.write(out)
        print(path, file=sys.stderr)


if __name__ == "__main__":
    main()
