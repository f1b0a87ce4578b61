"""iabn.compiler: the passes in-process through libIABNCAPI.so."""

import os

import pytest

from iabn import compiler

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def example(name):
    with open(os.path.join(ROOT, "examples", name)) as f:
        return f.read()


def test_inplace_abn_on_preact_block():
    result = compiler.inplace_abn(example("preact_residual_block.mlir"))
    assert "iabn.inplace_abn " in result.ir
    assert "iabn.batch_norm_train " not in result.ir
    remarks = [r.message for r in result.remarks]
    assert len(remarks) == 2
    assert "z overwrites x" in remarks[1]
    assert "x is read by 'linalg.add'" in remarks[0]
    before = result.memory_reports["before"]["functions"][0]
    after = result.memory_reports["after"]["functions"][0]
    assert before["saved_bytes"] == 1311744
    assert after["saved_bytes"] == 524800


def test_options_reach_the_pass():
    result = compiler.inplace_abn(example("conv_bn_leaky_train.mlir"),
                                  gamma_mode="abs_plus_eps")
    assert "#iabn.gamma_mode<abs_plus_eps>" in result.ir


def test_errors_carry_diagnostics():
    with pytest.raises(compiler.CompilerError) as info:
        compiler.run("func.func @f() { %x = iabn.activation <relu, 1.0> }",
                     "builtin.module(canonicalize)")
    assert any("takes no parameter" in d.message or "expected" in d.message
               for d in info.value.diagnostics)
    with pytest.raises(compiler.CompilerError, match="invalid pass pipeline"):
        compiler.run("module {}", "builtin.module(no-such-pass)")
    with pytest.raises(ValueError):
        compiler.inplace_abn("module {}", gamma_mode="x")
