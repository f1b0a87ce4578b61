"""Differential execution of every training function in the repository's
IR files (test/ and examples/): each split of each file that holds an
`iabn.batch_norm_train` and verifies is lowered through the CPU pipeline
before and after `--iabn-pipeline` (and its abs_plus_eps and
overwrite-arguments variants where asked), run on random inputs, and
compared (diffexec.py says what is asserted).

With --any-graph every split is taken, whatever its dialects (front-end
graphs in linalg, with --passes=--iabn-pipeline=raise=true).

Usage: check_differential.py [--root DIR] [--verbose] [--any-graph]
                             [--passes=...] FILE_OR_DIR...
"""

import argparse
import os
import sys
import tempfile

import diffexec


def chunks_of(path, any_graph=False):
    with open(path) as f:
        text = f.read()
    for i, chunk in enumerate(text.split("\n// -----")):
        if (any_graph or "iabn.batch_norm_train " in chunk) and \
                "expected-error" not in chunk:
            yield i, chunk


def mlir_files(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, _, files in sorted(os.walk(path)):
                for name in sorted(files):
                    if name.endswith(".mlir"):
                        yield os.path.join(root, name)
        else:
            yield path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--root", default=None,
                        help="print paths relative to this directory")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--any-graph", action="store_true",
                        help="every split, not only those with an "
                             "iabn.batch_norm_train")
    parser.add_argument("--passes", default="--iabn-pipeline",
                        help="the rewrite under test (space-separated "
                             "iabn-opt options)")
    args = parser.parse_args()
    report = diffexec.Report()
    workdir = tempfile.mkdtemp(prefix="iabn-diff-")
    chunks = 0
    for path in mlir_files(args.paths):
        shown = os.path.relpath(path, args.root) if args.root else path
        for index, chunk in chunks_of(path, args.any_graph):
            chunks += 1
            label = f"{shown}#{index}"
            diffexec.differential(chunk, label, report, workdir=workdir,
                                  passes=args.passes.split())
    print(f"differential: {chunks} graphs (file splits with a batch norm), "
          f"{report.functions} functions, {report.executed} executed before "
          f"and after the rewrite")
    for element, err in sorted(report.worst.items()):
        print(f"  worst relative difference {element}: {err:.3g}")
    for name, reason in sorted(report.skipped.items()):
        if args.verbose or "does not lower" in reason:
            print(f"skipped {name}: {reason}")
    for failure in report.failures:
        print("FAIL:", failure)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
