#!/usr/bin/env bash
# Builds the native PyTorch operators (libiabn_torch.so) on a machine with
# a CUDA build of torch but no LLVM (the GPU machine), next to the kernel
# library built where LLVM is: ${IABN_LIB_DIR:-build/lib}/libiabn_cuda.so.
# Uses the package's own setup.py: a C++ compiler and the CUDA runtime
# headers, no CUDA compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=$(realpath "${IABN_LIB_DIR:-build/lib}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd python && IABN_LIB_DIR="$lib" "${PYTHON:-python3}" setup.py -q build_ext \
  --build-lib "$tmp/lib" --build-temp "$tmp/obj")
cp "$tmp/lib/iabn/_lib/libiabn_torch.so" "$lib/libiabn_torch.so"
echo "built $lib/libiabn_torch.so"
