#!/usr/bin/env bash
# Sets up and builds IABN (scripts/setup.sh), then runs the main job on the
# bundled example: parse and verify the training graph, then bufferize it and
# print the result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
example=${1:-examples/conv_bn_leaky_train.mlir}
echo "== $example: parse + verify"
build/bin/iabn-opt "$example" --verify-diagnostics >/dev/null
echo "ok"
echo "== $example: one-shot-bufferize"
build/bin/iabn-opt "$example" \
  --one-shot-bufferize="bufferize-function-boundaries allow-unknown-ops"
