#!/usr/bin/env bash
# The rows of issue 13's table (not a test; GPU machine): BatchNorm2d +
# LeakyReLU against the convert plan (bench/plans), side by side in one
# process per row. Usage: bench/issue13_rows.sh eager|compile [OUT_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
export IABN_LIB_DIR=${IABN_LIB_DIR:-build/lib}
out=${2:-/tmp/iabn-bench}
mkdir -p "$out"
row() {
  local name=$1
  shift
  python3 bench/network_bench.py --variants bn,auto --steps 15 \
    --json "$out/$name.json" "$@" 2>&1 | grep -E '^\||^device'
}
if [ "${1:-eager}" = eager ]; then
  row r50-b8 --model resnet50 --batch 8
  row r50-b32 --model resnet50 --batch 32
  row r50-b128-fp32 --model resnet50 --batch 128 --precisions fp32
  row wrn38-b8-fp32 --model wrn38 --batch 8 --precisions fp32
  row wrn38-b2-512-fp32 --model wrn38 --batch 2 --size 512 --precisions fp32
  row wrn38-b32-fp32 --model wrn38 --batch 32 --precisions fp32
else
  row r50-b32-bf16-compile --model resnet50 --batch 32 --precisions bf16 --compile
  row r50-b128-bf16-compile --model resnet50 --batch 128 --precisions bf16 --compile
  row wrn38-b32-fp32-compile --model wrn38 --batch 32 --precisions fp32 --compile
fi
