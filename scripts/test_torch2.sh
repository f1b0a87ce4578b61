#!/usr/bin/env bash
# The PyTorch package against a recent torch (2.x, CPU wheel from PyPI), where
# CI's Debian torch 1.13 cannot go: torch.compile with the native operators
# (opcheck, fake tensors, dynamic shapes), and the eager and sync layers.
# Needs the CMake build (libIABNCAPI.so, libiabn_cuda.so in build/lib) and
# network access to PyPI. Usage: scripts/test_torch2.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-/tmp/iabn-torch2}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q torch pytest setuptools \
  --extra-index-url https://download.pytorch.org/whl/cpu
lib=$(mktemp -d)
trap 'rm -rf "$lib"' EXIT
cp -L build/lib/libIABNCAPI.so build/lib/libiabn_cuda.so "$lib/" 2>/dev/null || \
  cp -L build/lib/libIABNCAPI.so "$lib/"
(cd python && IABN_LIB_DIR="$lib" "$venv/bin/python" setup.py -q build_ext \
  --build-lib "$lib/build" --build-temp "$lib/obj")
cp "$lib/build/iabn/_lib/libiabn_torch.so" "$lib/"
IABN_LIB_DIR="$lib" PYTHONPATH=python "$venv/bin/python" -m pytest -q \
  -p no:cacheprovider test/python/test_compile.py test/python/test_nn.py \
  test/python/test_sync.py
