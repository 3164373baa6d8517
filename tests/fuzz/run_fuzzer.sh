#!/usr/bin/env bash
# Runs one libFuzzer binary for a fixed time over the committed seeds (CTest `spec_fuzz_run_*`,
# label `libfuzzer`; by hand for longer runs).
#
# Usage: run_fuzzer.sh FUZZER WORK_DIR SECONDS [libFuzzer flags...] -- SEED_DIR...
#   WORK_DIR is emptied, then receives the corpus the run grows (WORK_DIR/corpus, so the
#   committed seeds are never written to) and any crashing input (WORK_DIR/crash-*, ...).
# Exit 0 when the run found nothing; otherwise libFuzzer's non-zero code, after naming the
# input to fix and to copy into tests/fuzz/regressions/<target>/ once fixed.
set -euo pipefail
fuzzer="$1" work="$2" seconds="$3"
shift 3
flags=()
while [[ $# -gt 0 && "$1" != "--" ]]; do flags+=("$1"); shift; done
[[ $# -gt 0 ]] && shift  # the --
rm -rf "$work"
mkdir -p "$work/corpus"
# -rss_limit_mb: a valid spec's estimates are cheap, so a big RSS is a bug (e.g. a huge
# schedule); -timeout: one input taking seconds is one too.
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/" "${flags[@]}" "$work/corpus" "$@" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run_fuzzer: $fuzzer failed ($status); the input is in $work/:" >&2
  ls -l "$work" >&2
  echo "run_fuzzer: fix the bug, then copy that file into tests/fuzz/regressions/" >&2
fi
exit $status
