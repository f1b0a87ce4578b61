#!/usr/bin/env bash
# Times the InPlace-ABN pipeline (rewrite + canonicalize + CSE) on generated
# training graphs of 1k, 10k and 100k BN->activation chains, from the wall
# times of --mlir-timing. Not a test: prints a table.
# Usage: bench/run_pass_time.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
opt=${1:-build}/bin/iabn-opt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wall() { # the wall-clock seconds of the timing line named $1
  grep -E " $1\$" "$tmp/timing" | head -1 |
    sed -E 's/^ *[0-9.]+ \( *[0-9.]+%\) +([0-9.]+) .*/\1/'
}
printf "%8s %10s %10s %10s %10s %12s %10s\n" chains rewrite_s canon_s cse_s \
  pipeline_s us_per_chain command_s
for n in 1000 10000 100000; do
  python3 bench/gen_chains.py "$n" > "$tmp/g.mlir"
  start=$(date +%s.%N)
  "$opt" "$tmp/g.mlir" --iabn-pipeline --mlir-timing -o /dev/null \
    2> "$tmp/timing"
  end=$(date +%s.%N)
  r=$(wall InPlaceABNPass); c=$(wall Canonicalizer); s=$(wall CSE)
  p=$(echo "$r + $c + $s" | bc -l)
  printf "%8d %10.3f %10.3f %10.3f %10.3f %12.1f %10.2f\n" "$n" "$r" "$c" "$s" \
    "$p" "$(echo "$p * 1000000 / $n" | bc -l)" "$(echo "$end - $start" | bc -l)"
done
