#!/usr/bin/env bash
# The GPU checks, on a machine with CUDA GPUs and PyTorch (no LLVM needed):
# the kernel library, the PyTorch layers (autocast, torch.compile), the
# synchronized layer on 2 GPUs (skipped with one), and the CPU-free part of
# the pytest suite. Needs build/lib/libiabn_cuda.so (built where LLVM is);
# builds the PyTorch operators (libiabn_torch.so) there when missing.
# Writes logs under ${OUT:-/tmp/iabn-gpu-checks}; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export IABN_LIB_DIR=${IABN_LIB_DIR:-build/lib}
logs=${OUT:-/tmp/iabn-gpu-checks}
mkdir -p "$logs"
status=0
step() {
  local name=$1
  shift
  timeout 400 "$@" >"$logs/$name.txt" 2>&1
  local rc=$?
  echo "== $name: exit $rc"
  tail -n 14 "$logs/$name.txt"
  [ $rc -eq 0 ] || status=1
}
nvidia-smi -L
if [ ! -f "$IABN_LIB_DIR/libiabn_torch.so" ] || ! python3 -c "
import torch; torch.ops.load_library('$IABN_LIB_DIR/libiabn_torch.so')
assert torch._C._dispatch_has_kernel_for_dispatch_key('iabn::statistics', 'CUDA')" 2>/dev/null; then
  step build_ops scripts/gpu_build_ops.sh
fi
step check_gpu python3 test/GPU/check_gpu.py "$IABN_LIB_DIR/libiabn_cuda.so"
step check_nn_gpu python3 test/GPU/check_nn_gpu.py
step check_models_gpu python3 test/GPU/check_models_gpu.py
step check_cuda_graphs_gpu python3 test/GPU/check_cuda_graphs_gpu.py
step check_joint_gpu python3 test/GPU/check_joint_gpu.py
if python3 -c 'import torchvision' 2>/dev/null; then
  step check_store_y_gpu python3 test/GPU/check_store_y_gpu.py
fi
if [ "$(python3 -c 'import torch; print(torch.cuda.device_count())')" -ge 2 ]; then
  step check_sync_gpu python3 test/GPU/check_sync_gpu.py
else
  echo "== check_sync_gpu: skipped (needs 2 GPUs)"
fi
if python3 -c 'import pytest' 2>/dev/null; then
  step pytest python3 -m pytest -q -p no:cacheprovider test/python/test_nn.py \
    test/python/test_sync.py test/python/test_compile.py \
    test/python/test_joint.py
else
  echo "== pytest: not installed here"
fi
exit $status
