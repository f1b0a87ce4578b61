#!/usr/bin/env bash
# Sets up and builds IABN (scripts/setup.sh), then runs the main job on a
# bundled training graph (default: the pre-activation residual block):
# memory report before, the InPlace-ABN pipeline with its remarks, memory
# report after, and the One-Shot Bufferize in-place decisions.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
example=${1:-examples/preact_residual_block.mlir}
opt=build/bin/iabn-opt
echo "== $example"
"$opt" "$example" --iabn-memory-report="label=before" \
  --iabn-pipeline --iabn-memory-report="label=after" -o /dev/null 2>&1
echo
echo "== One-Shot Bufferize after the rewrite: does z take x's buffer?"
"$opt" "$example" --iabn-pipeline \
  --one-shot-bufferize="bufferize-function-boundaries test-analysis-only allow-unknown-ops" \
  2>/dev/null | grep -E "iabn\.inplace_abn" |
  sed -E 's/.*(iabn\.inplace_abn[a-z_]*) <([^>]*)>.*__inplace_operands_attr__ = \["(true|false)".*/  \1 <\2>: in place = \3/'
echo
echo "== Bytes allocated per run on the CPU path (lowered + bufferized)"
python3 bench/alloc_bytes.py --iabn-opt "$opt" "$example"
