#!/usr/bin/env bash
# The rows of issue 17's table (not a test; GPU machine): torch.compile
# variants side by side, one process per row (bench/compile_bench.py).
# Usage: bench/issue17_rows.sh [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
export IABN_LIB_DIR=${IABN_LIB_DIR:-build/lib} PYTHONPATH=python
out=${1:-/tmp/iabn-bench}
mkdir -p "$out"
row() {
  local name=$1
  shift
  python3 bench/compile_bench.py --steps 12 --json "$out/$name.json" "$@" \
    2>&1 | grep -E '^\||^device|left alone'
}
row wrn38-b32-fp32 --model wrn38 --batch 32 --precision fp32
row r50-b128-bf16 --model resnet50 --batch 128 --precision bf16
row tv-r50-b64-bf16 --model tv-resnet50 --batch 64 --precision bf16
row tv-mobilenet_v2-b64-bf16 --model tv-mobilenet_v2 --batch 64 --precision bf16
