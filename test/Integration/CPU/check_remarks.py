"""Checks the rewrite's remarks against what bufferization decides: every
claim "z overwrites x" / "dx overwrites dz" (store-y: "y overwrites x" /
"dx overwrites dy"), "... does not overwrite ...
(... is copied)" and "... overwrites a copy of ... made for OP" is compared
with the in-place decisions that the stand-alone One-Shot Bufferize pass
(the CPU pipeline's options, test-analysis-only) takes on the pipeline's
output, after canonicalization and CSE. Every fused op must have exactly one
claim for each of its in-place operands, and no remark may name an op that
is no longer in the IR.

Usage: check_remarks.py [--random SEED:COUNT] FILE_OR_DIR...
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import iabn_cpu as ic

ANALYSIS = ("--one-shot-bufferize=bufferize-function-boundaries "
            "function-boundary-type-conversion=identity-layout-map "
            "allow-return-allocs-from-loops test-analysis-only")
LOC = r'"[^"]*":(\d+):(\d+)'


def first_loc(line):
    m = re.search(r"loc\((?:fused\[)?" + LOC, line)
    return (int(m.group(1)), int(m.group(2))) if m else None


def inplace_flags(line):
    m = re.search(r"__inplace_operands_attr__ = \[([^\]]*)\]", line)
    return [f.strip() == '"true"' for f in m.group(1).split(",")] if m else None


def check_chunk(path, text, failures, counts, rewrite):
    """`rewrite` is the iabn-opt option under test: --iabn-inplace-abn (every
    claim checked, including where copies are made and that the ops a remark
    names exist) or --iabn-pipeline (the cleanup that follows the rewrite may
    fold the ops a remark names: the in-place claims are checked)."""
    strict = rewrite == "--iabn-inplace-abn"
    with open(path, "w") as f:
        f.write(text)
    source_lines = text.splitlines()
    run = subprocess.run([ic._tool("IABN_OPT"), path, rewrite,
                          ANALYSIS, "--mlir-print-debuginfo",
                          "--mlir-print-local-scope"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return False
    # Remarks by the (line, col) of their batch norm.
    remarks = {}
    for m in re.finditer(r"^[^\n]*?:(\d+):(\d+): remark: ([^\n]*)$",
                         run.stderr, re.M):
        remarks[(int(m.group(1)), int(m.group(2)))] = m.group(3)
    ir = run.stdout.splitlines()
    # Ops by location: (line, col) -> list of IR lines.
    by_loc = {}
    for line in ir:
        loc = first_loc(line)
        if loc:
            by_loc.setdefault(loc, []).append(line)
    # Fused ops, and their backward through the z they read (SSA names are
    # per function).
    fused_names = {}
    for line in ir:
        if re.match(r"\s*func\.func ", line):
            fused_names = {}
        m = re.match(r"\s*(%[\w]+), %[\w]+, %[\w]+ = iabn\.inplace_abn ", line)
        if m:
            loc = first_loc(line)
            if "iabn.inplace_abn" in source_lines[loc[0] - 1]:
                continue  # written by hand, not by the rewrite
            fused_names[m.group(1)] = loc
            # store-y stores y over x and writes dx over dy.
            store_y = (remarks.get(loc) or "").startswith("store-y:")
            check_claim(loc, remarks.get(loc), "y" if store_y else "z", "x",
                        inplace_flags(line)[0], by_loc, failures, counts, path,
                        strict)
            continue
        m = re.search(r"iabn\.inplace_abn_grad <[^>]*> %[\w#]+, (%[\w]+) ",
                      line)
        if m and m.group(1) in fused_names:
            loc = fused_names[m.group(1)]
            store_y = (remarks.get(loc) or "").startswith("store-y:")
            check_claim(loc, remarks.get(loc), "dx", "dy" if store_y else "dz",
                        inplace_flags(line)[0], by_loc, failures, counts,
                        path, strict)
    if not strict:
        return True
    # A remark never names an op that is gone.
    for loc, text in remarks.items():
        for m in re.finditer(r"'([\w.]+)(?: @[\w$.]+)?' at loc\((?:fused\[)?"
                             + LOC, text):
            named = (int(m.group(2)), int(m.group(3)))
            # Ops of the func dialect print without their prefix; region
            # ops print their location on their closing line.
            short = m.group(1).split(".", 1)[1]
            lines = by_loc.get(named, [])
            if not any(m.group(1) in l or re.search(r"\b" + short + r"\b", l)
                       or l.lstrip().startswith("}") for l in lines):
                # The op may have been folded by the cleanup; it must at
                # least have existed right after the rewrite.
                failures.append(f"{path}:{loc[0]}: remark names '{m.group(1)}' "
                                f"at line {named[0]}, which is not in the IR")
    return True


def check_claim(loc, remark, written, name, in_place, by_loc, failures,
                counts, path, strict):
    where = f"{path}:{loc[0]}"
    if remark is None:
        failures.append(f"{where}: fused op without a remark")
        return
    overwrites = f"; {written} overwrites {name}"
    copy_of = f"; {written} overwrites a copy of {name} made for "
    not_in_place = f"; {written} does not overwrite {name} ({name} is copied)"
    claims = [c for c in (copy_of, not_in_place) if c in remark]
    if re.search(re.escape(overwrites) + r"(;|$)", remark):
        claims.append(overwrites)
    if len(claims) != 1:
        failures.append(f"{where}: expected one claim about {written}/{name}, "
                        f"got {len(claims)}: {remark}")
        return
    claim = claims[0]
    kind = claim.strip("; ").split(" (")[0].split(" made")[0]
    counts[kind] = counts.get(kind, 0) + 1
    if claim == not_in_place and in_place:
        failures.append(f"{where}: remark says {name} is copied, One-Shot "
                        f"Bufferize writes {written} over it: {remark}")
    if claim in (overwrites, copy_of) and not in_place:
        failures.append(f"{where}: remark says {written} overwrites {name}, "
                        f"One-Shot Bufferize copies it: {remark}")
    if claim == copy_of and strict:
        m = re.search(re.escape(copy_of) + r"'[^']*' at loc\((?:fused\[)?"
                      + LOC, remark)
        copied_at = (int(m.group(1)), int(m.group(2))) if m else None
        lines = by_loc.get(copied_at, [])
        if not any((flags := inplace_flags(l)) and not all(flags)
                   for l in lines):
            failures.append(f"{where}: remark says a copy is made at line "
                            f"{copied_at and copied_at[0]}, One-Shot Bufferize "
                            f"copies nothing there: {remark}")


def chunks(paths):
    for path in paths:
        files = [path]
        if os.path.isdir(path):
            files = [os.path.join(r, n) for r, _, ns in sorted(os.walk(path))
                     for n in sorted(ns) if n.endswith(".mlir")]
        for f in files:
            with open(f) as handle:
                for i, chunk in enumerate(handle.read().split("\n// -----")):
                    if "iabn.batch_norm_train " in chunk and \
                            "expected-error" not in chunk:
                        yield f"{f}#{i}", chunk


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--random", default=None,
                        help="SEED:COUNT random graphs (random_graphs.py)")
    args = parser.parse_args()
    items = list(chunks(args.paths))
    if args.random:
        import random_graphs
        seed, count = (int(v) for v in args.random.split(":"))
        for k, graph in enumerate(random_graphs.generate(seed, count)):
            items.append((f"random{seed}_{k}", graph))
    workdir = tempfile.mkdtemp(prefix="iabn-remarks-")
    failures = []
    for rewrite in ("--iabn-inplace-abn", "--iabn-pipeline"):
        counts, checked = {}, 0
        for label, text in items:
            path = os.path.join(workdir,
                                re.sub(r"\W", "_", label)[-80:] + ".mlir")
            if check_chunk(path, text, failures, counts, rewrite):
                checked += 1
        print(f"remarks after {rewrite}: {checked} graphs, claims checked "
              f"against One-Shot Bufferize: " + ", ".join(
                  f"{k}: {v}" for k, v in sorted(counts.items())))
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
