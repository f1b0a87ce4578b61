#!/usr/bin/env bash
# Sets up and builds IABN (scripts/setup.sh), then runs the whole test suite.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ninja -C build check-iabn
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "note: no CUDA GPU here: the GPU tests (test/GPU) were reported UNSUPPORTED;"
  echo "      run 'scripts/gpu_checks.sh' on a GPU machine (with build/lib/libiabn_cuda.so)"
fi
