#!/usr/bin/env bash
# Sets up, builds and runs every test: installs the Debian packages (idempotent), configures a
# Release build in build/, compiles with -j2 and runs CTest. Long scientific runs carry the
# CTest label `paper` and are skipped unless SGDSPECTRA_PAPER=1. Before the suite, the
# libFuzzer targets are built with clang in build-fuzz/ and run briefly
# (SGDSPECTRA_FUZZ_SECONDS=0 skips them).
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
status=0

# libFuzzer over the job-spec path (tests/fuzz/README.md): a clang build dir of its own that
# compiles only core, the proto code and the two fuzz targets, each then run for
# SGDSPECTRA_FUZZ_SECONDS (default 30; 0 skips) from the committed seeds. A crash fails CI.
# It runs before the main suite so that the main suite's CTest summary is the last one printed.
fuzz_seconds="${SGDSPECTRA_FUZZ_SECONDS:-30}"
if [[ "$fuzz_seconds" != "0" ]]; then
  fuzz_dir="${SGDSPECTRA_FUZZ_BUILD_DIR:-build-fuzz}"
  cmake -S . -B "$fuzz_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
    -DSGDSPECTRA_FUZZ=ON -DSGDSPECTRA_FUZZ_SECONDS="$fuzz_seconds" -DSGDSPECTRA_BUILD_BENCH=OFF
  cmake --build "$fuzz_dir" -j2 --target spec_fuzz_json spec_fuzz_request
  ctest --test-dir "$fuzz_dir" -j2 -L libfuzzer --output-on-failure || status=$?
fi

label_args=(-LE paper)
if [[ "${SGDSPECTRA_PAPER:-0}" == "1" ]]; then label_args=(); fi
ctest --test-dir "$build_dir" -j2 --output-on-failure --timeout 600 "${label_args[@]}" || status=$?
exit $status
