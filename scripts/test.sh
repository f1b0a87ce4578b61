#!/usr/bin/env bash
# Sets up and builds IABN (scripts/setup.sh), then runs the whole test suite.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ninja -C build check-iabn
