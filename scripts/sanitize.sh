#!/usr/bin/env bash
# Builds the whole suite with AddressSanitizer + UndefinedBehaviorSanitizer and runs it with
# CTest (docs/TESTING.md, "Sanitizers"). Undefined behaviour aborts (-fno-sanitize-recover), so
# any finding fails its test. Not part of CI: a full instrumented build and run takes a long
# time on two cores (docs/TESTING.md has a measured run).
#
# Usage: scripts/sanitize.sh [BUILD_DIR]      (default: build-asan in the clone)
#   CXX=clang++ scripts/sanitize.sh            another compiler (default: the system c++)
#   SGDSPECTRA_SANITIZE_JOBS=N                 parallel compile and test jobs (default 2)
#   extra ctest arguments after --, e.g.  scripts/sanitize.sh build-asan -- -R Metrics
#
# Excluded labels, and why:
#   paper      full-scale scientific runs: minutes in Release, far longer instrumented
#   container  builds its own Release image with podman: nothing of this build runs in it
#   install    links an outside project against the installed static core library without
#              the sanitizer runtime, so it cannot link (the package itself is tested in CI)
#   render     headless Chromium drawing the Python reports: no code of ours is instrumented
#   format     clang-format over the sources: runs no code
# The Python and Node client tests stay: their interpreters are not instrumented and load no
# library of ours (the stubs are pure Python / JavaScript), but they start the instrumented
# sgdspectra-server and CLI as child processes, which is what is checked. No LD_PRELOAD of the
# ASan runtime is needed for that.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-$root/build-asan}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
jobs="${SGDSPECTRA_SANITIZE_JOBS:-2}"

flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
# Leaks: gRPC and protobuf keep some process-lifetime allocations; the suppressions name only
# those libraries, never ours.
export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_init_order=1"
export LSAN_OPTIONS="suppressions=$root/scripts/sanitize.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Build type None: only the flags above (the project's Release flags would add -O3 -DNDEBUG;
# here assertions stay on).
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DSGDSPECTRA_BUILD_BENCH=OFF
start=$(date +%s)
cmake --build "$build_dir" -j"$jobs"
built=$(date +%s)
status=0
ctest --test-dir "$build_dir" -j"$jobs" --output-on-failure --timeout 1800 \
  -LE 'paper|container|install|render|format' "$@" || status=$?
echo "sanitize: build $((built - start)) s, tests $(($(date +%s) - built)) s, ctest exit $status"
exit $status
