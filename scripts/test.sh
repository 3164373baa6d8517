#!/usr/bin/env bash
# Sets up, builds and runs every test: installs the Debian packages (idempotent), configures a
# Release build in build/, compiles with -j2 and runs CTest. Long scientific runs carry the
# CTest label `paper` and are skipped unless SGDSPECTRA_PAPER=1.
#
# Usage: scripts/test.sh            (from anywhere inside the clone)
#        SGDSPECTRA_PAPER=1 scripts/test.sh   also runs the full-scale reproduction suite
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
build_dir="${SGDSPECTRA_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" -j2
label_args=(-LE paper)
if [[ "${SGDSPECTRA_PAPER:-0}" == "1" ]]; then label_args=(); fi
ctest --test-dir "$build_dir" -j2 --output-on-failure --timeout 600 "${label_args[@]}"
