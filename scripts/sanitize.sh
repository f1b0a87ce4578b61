#!/usr/bin/env bash
# Builds IABN with AddressSanitizer + UBSan into ./build-sanitize and runs
# the lit suite (without the Python-package tests, which load the libraries
# into an uninstrumented interpreter) and the random training-graph generator
# under it. Any sanitizer report fails the run.
#
#   scripts/sanitize.sh [--count N] [--seed S]   (generator; default 300, 1)
set -euo pipefail
cd "$(dirname "$0")/.."
count=300
seed=1
while (($#)); do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "usage: $0 [--count N] [--seed S]" >&2; exit 2 ;;
  esac
done
scripts/setup.sh >/dev/null   # packages (and the normal build)
if [[ ! -f build-sanitize/build.ninja ]]; then
  cmake -G Ninja -S . -B build-sanitize \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIABN_ENABLE_SANITIZERS=ON \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit >/dev/null
fi
ninja -C build-sanitize iabn-opt IABNDialectDocGen IABNPassesDocGen \
  IABNConversionPassesDocGen
# allow_user_poisoning=0: see IABN_ENABLE_SANITIZERS in CMakeLists.txt.
# Leaks are not checked: MLIR keeps its contexts' storage until exit.
export ASAN_OPTIONS="allow_user_poisoning=0:detect_leaks=0:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
log=$(mktemp)
status=0
# Tests that load IABN's libraries into an uninstrumented process (Python,
# the stock mlir-opt) cannot run under ASan; the rest runs iabn-opt.
/usr/lib/llvm-22/bin/lit -sv build-sanitize/test \
  --filter-out 'python/|Examples/python|Plugin/|Pipelines/pipeline.mlir|Runtime/|GPU/' 2>&1 \
  | tee "$log" || status=$?
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$log"; then
  echo "sanitizer reports in the lit suite"
  status=1
fi
# Debian's python3 (NumPy): the python3 on PATH may be another one.
env IABN_OPT="$PWD/build-sanitize/bin/iabn-opt" \
    MLIR_TRANSLATE=/usr/lib/llvm-22/bin/mlir-translate \
    CLANG=/usr/lib/llvm-22/bin/clang \
    PYTHONPATH=test/Integration/CPU \
    /usr/bin/python3 test/Integration/CPU/random_graphs.py --seed "$seed" \
    --count "$count" 2>&1 | tee -a "$log" || status=$?
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$log"; then
  echo "sanitizer reports"
  status=1
fi
exit $status
