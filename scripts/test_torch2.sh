#!/usr/bin/env bash
# The PyTorch package against a recent torch 2.x, where CI's Debian torch
# 1.13 cannot go: torch.compile with the native operators (opcheck, fake
# tensors, dynamic shapes), and the eager and sync layers, on the CPU.
# Needs the CMake build (libIABNCAPI.so, libiabn_cuda.so in build/lib). Uses
# the torch of VENV_DIR when it has one; otherwise installs torch from PyPI
# there (a large download). Usage: scripts/test_torch2.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-/tmp/iabn-torch2}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import torch' 2>/dev/null || \
  "$venv/bin/python" -m pip install -q torch
"$venv/bin/python" -m pip install -q pytest setuptools
lib=$(mktemp -d)
trap 'rm -rf "$lib"' EXIT
cp -L build/lib/libIABNCAPI.so build/lib/libiabn_cuda.so "$lib/" 2>/dev/null || \
  cp -L build/lib/libIABNCAPI.so "$lib/"
(cd python && IABN_LIB_DIR="$lib" "$venv/bin/python" setup.py -q build_ext \
  --build-lib "$lib/build" --build-temp "$lib/obj")
cp "$lib/build/iabn/_lib/libiabn_torch.so" "$lib/"
IABN_LIB_DIR="$lib" PYTHONPATH=python "$venv/bin/python" -m pytest -q \
  -p no:cacheprovider test/python/test_compile.py test/python/test_nn.py \
  test/python/test_sync.py test/python/test_joint.py
