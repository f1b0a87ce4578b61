"""Run IABN and upstream MLIR passes in-process (libIABNCAPI.so).

Example::

    from iabn import compiler
    result = compiler.inplace_abn(open("examples/preact_residual_block.mlir").read())
    for remark in result.remarks:
        print(remark.location, remark.message)
    print(result.memory_reports["before"]["functions"][0]["saved_bytes"])
"""

import ctypes
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List

from . import _libs


@dataclass
class Diagnostic:
    severity: str  # error | warning | remark | note
    location: str
    message: str


class CompilerError(RuntimeError):
    def __init__(self, message, diagnostics):
        details = "\n".join(f"{d.location}: {d.severity}: {d.message}"
                            for d in diagnostics)
        super().__init__(f"{message}\n{details}" if details else message)
        self.diagnostics = diagnostics


@dataclass
class Result:
    ir: str
    diagnostics: List[Diagnostic] = field(default_factory=list)
    memory_reports: Dict[str, dict] = field(default_factory=dict)
    # The rewrite's decisions, one per batch norm (iabn-inplace-abn's
    # decisions-file): loc, strategy (inplace | store-y | recompute | none),
    # activation {kind, param}, x and dz (overwritten | copy_overwritten |
    # copied | unknown), remark.
    decisions: list = field(default_factory=list)

    @property
    def remarks(self):
        return [d for d in self.diagnostics if d.severity == "remark"]


def _library():
    lib = _libs.load("libIABNCAPI.so")
    lib.iabn_run_pipeline.restype = ctypes.c_int
    lib.iabn_run_pipeline.argtypes = [
        ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_void_p)]
    lib.iabn_free.argtypes = [ctypes.c_void_p]
    return lib


def run(ir: str, pipeline: str) -> Result:
    """Runs the textual pass pipeline (e.g. ``"builtin.module(iabn-pipeline)"``)
    on `ir`. Raises CompilerError (with the diagnostics) on failure."""
    lib = _library()
    out_ir, out_diag = ctypes.c_void_p(), ctypes.c_void_p()
    status = lib.iabn_run_pipeline(ir.encode(), pipeline.encode(),
                                   ctypes.byref(out_ir), ctypes.byref(out_diag))
    try:
        text = ctypes.string_at(out_ir).decode() if out_ir.value else ""
        diag_text = ctypes.string_at(out_diag).decode() if out_diag.value \
            else ""
    finally:
        lib.iabn_free(out_ir)
        lib.iabn_free(out_diag)
    diagnostics = [Diagnostic(**json.loads(line))
                   for line in diag_text.splitlines() if line.strip()]
    if status != 0:
        stage = {1: "parsing failed", 2: "invalid pass pipeline",
                 3: "a pass failed"}.get(status, f"status {status}")
        raise CompilerError(f"iabn: {stage}", diagnostics)
    return Result(text, diagnostics)


def inplace_abn(ir: str, gamma_mode: str = "sign_clamp",
                recompute: bool = True,
                overwrite_arguments: bool = False) -> Result:
    """The InPlace-ABN pipeline with memory reports before and after:
    ``result.memory_reports["before"|"after"]`` (the JSON of
    iabn-memory-report), ``result.remarks`` (one per batch norm)."""
    if gamma_mode not in ("sign_clamp", "abs_plus_eps"):
        raise ValueError(f"gamma_mode must be sign_clamp or abs_plus_eps, "
                         f"got {gamma_mode!r}")
    with tempfile.TemporaryDirectory() as tmp:
        paths = {k: os.path.join(tmp, f"{k}.json") for k in ("before", "after")}
        decisions = os.path.join(tmp, "decisions.json")
        options = (f"gamma-mode={gamma_mode} recompute={int(recompute)} "
                   f"overwrite-arguments={int(overwrite_arguments)} "
                   f"decisions-file={decisions}")
        pipeline = (
            "builtin.module("
            f"iabn-memory-report{{json=1 label=before output-file={paths['before']}}},"
            f"iabn-pipeline{{{options}}},"
            f"iabn-memory-report{{json=1 label=after output-file={paths['after']}}})")
        result = run(ir, pipeline)
        for key, path in paths.items():
            with open(path) as f:
                result.memory_reports[key] = json.load(f)
        with open(decisions) as f:
            result.decisions = json.load(f)["decisions"]
    return result
