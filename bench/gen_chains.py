#!/usr/bin/env python3
"""Generates a joint forward+backward training graph with N BN->activation
chains (a deep plain network: layer -> BN -> leaky_relu -> layer ...), for
timing the IABN rewrite. Layers and their gradients are external calls."""

import argparse
import sys

T = "tensor<4x8x2x2xf32>"
C = "tensor<8xf32>"


def generate(n: int, out) -> None:
    w = out.write
    w(f"func.func private @layer({T}) -> {T}\n")
    w(f"func.func private @layer_backward({T}, {T}) -> {T}\n")
    w(f"func.func @train(%x0: {T}, %g: {C}, %b: {C}, %dout: {T} {{iabn.gradient}}) -> {T} {{\n")
    for i in range(n):
        w(f"  %y{i}, %m{i}, %v{i} = iabn.batch_norm_train %x{i} scale %g offset %b : {T}, {C}\n")
        w(f"  %z{i} = iabn.activation <leaky_relu, 0.01> %y{i} : {T}\n")
        w(f"  %x{i + 1} = func.call @layer(%z{i}) : ({T}) -> {T}\n")
    w(f"  %dz{n - 1} = func.call @layer_backward(%dout, %z{n - 1}) : ({T}, {T}) -> {T}\n")
    for i in reversed(range(n)):
        w(f"  %dy{i} = iabn.activation_grad <leaky_relu, 0.01> %dz{i}, %z{i} {{self_is_result}} : {T}\n")
        w(f"  %dx{i}, %dg{i}, %db{i} = iabn.batch_norm_train_grad %dy{i}, %x{i} scale %g stats(%m{i}, %v{i}) : {T}, {C}\n")
        if i > 0:
            w(f"  %dz{i - 1} = func.call @layer_backward(%dx{i}, %z{i - 1}) : ({T}, {T}) -> {T}\n")
    w(f"  return %dx0 : {T}\n}}\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("chains", type=int)
    generate(parser.parse_args().chains, sys.stdout)
