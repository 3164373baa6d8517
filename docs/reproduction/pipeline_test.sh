#!/usr/bin/env bash
# The commands of docs/REPRODUCTION.md at toy scale (CTest `reproduction_pipeline`, about 15
# s): the shipped paper specs with d and t_end overridden, run as sweeps against a child
# server, turned into tables by measure.py and into figures by `python -m sgdspectra.plot`. It
# checks that the documented pipeline still works end to end and that measure.py's tables hold
# numbers taken from the sweeps; the science at full scale is tests/paper (label `paper`).
#
# Usage: pipeline_test.sh CLI SERVER [PYTHON]
#   PYTHON (default /usr/bin/python3) runs clients/python's sgdspectra.plot from the checkout; it
#   needs the package's stubs: SGDSPECTRA_STUBS_DIR (CTest sets it) or an installed package.
set -euo pipefail

cli=$1
server=$2
python=${3:-/usr/bin/python3}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$server" --listen 127.0.0.1:0 --port-file "$work/port" --data-dir "$work/data" --workers 2 \
  > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 200); do [[ -s "$work/port" ]] && break; sleep 0.05; done
[[ -s "$work/port" ]] || fail "server did not start: $(tail -5 "$work/server.log")"
S=(--server "127.0.0.1:$(cat "$work/port")")

# Toy scale: d = 40, t to 4, a snapshot every 40 steps (t = 0, 1, 2, 3, 4).
toy=(--d 40 --t-end 4 --every-steps 40)
"$cli" "${S[@]}" sweep --spec "$repo/examples/paper/k1_lambda20.json" --set lambda=20,100 \
  "${toy[@]}" --out "$work/k1" > "$work/k1.out" 2> "$work/k1.err" || fail "k1 sweep: $(cat "$work/k1.err")"
"$cli" "${S[@]}" sweep --spec "$repo/examples/paper/k5_no_ridge.json" "${toy[@]}" \
  --out "$work/k5" > /dev/null 2> "$work/k5.err" || fail "k5 sweep: $(cat "$work/k5.err")"
# XOR: sub-optimal runs end SUCCEEDED too (the job ran to its end); exit 0 means every job did.
"$cli" "${S[@]}" sweep --spec "$repo/examples/paper/x1_xor.json" --seeds 0:4 "${toy[@]}" \
  --out "$work/x1" > "$work/x1.out" 2> "$work/x1.err" || fail "x1 sweep: $(cat "$work/x1.err")"
grep -q "95% Wilson interval" "$work/x1.out" || fail "x1 sweep printed no interval"

/usr/bin/python3 "$repo/docs/reproduction/measure.py" "$work/k1" "$work/k5" "$work/x1" \
  > "$work/measured.md" || fail "measure.py failed"
for heading in "## K1-K4" "## K5" "## X1-X3" "X2 joint table" "X3 (all 4 runs"; do
  grep -q -- "$heading" "$work/measured.md" || fail "measure.py output lacks '$heading'"
done
# The tables hold the sweeps' numbers: the lambda = 100 job's final accuracy from summary.csv
# appears in the K1 heading, and X1's success count matches aggregates.csv.
accuracy=$(awk -F, 'NR > 1 && $4 == "100" { print $0 }' "$work/k1/summary.csv" | head -1 |
           awk -F, -v col="$(head -1 "$work/k1/summary.csv" | tr ',' '\n' | grep -n '^final_test_accuracy$' | cut -d: -f1)" '{ print $col }')
[[ -n "$accuracy" ]] || fail "no lambda = 100 row in k1/summary.csv"
grep -q "lambda = 100 (seed 1, job .*, final test accuracy $accuracy," "$work/measured.md" ||
  fail "K1 table does not carry the summary's accuracy $accuracy"
successes=$(awk -F, 'NR == 2 { print $4 }' "$work/x1/aggregates.csv")
grep -q "X1: $successes successes of 4 runs" "$work/measured.md" ||
  fail "X1 line does not carry aggregates.csv's $successes successes"
rows=$(grep -c '^| [0-9]' "$work/measured.md")
(( rows >= 10 )) || fail "measure.py printed only $rows table rows"

plot=(env PYTHONPATH="$repo/clients/python${PYTHONPATH:+:$PYTHONPATH}" "$python" -m sgdspectra.plot)
"${plot[@]}" "$work/k1/jobs/0000.events.jsonl" --out "$work/plots/k1" --format svg \
  --times 0 > /dev/null 2> "$work/plot.err" || fail "plot of a K1 job: $(cat "$work/plot.err")"
"${plot[@]}" "$work/x1" --format svg > /dev/null 2> "$work/plot.err" ||
  fail "plot of the X1 sweep: $(cat "$work/plot.err")"
for f in "$work/plots/k1/report.html" "$work/plots/k1/eigenvalues_H_class0.svg" \
         "$work/plots/k1/eigenvalues_H_full.svg" "$work/plots/k1/alignment.svg" \
         "$work/x1/plots/sweep_rank.svg" "$work/x1/plots/sweep_success.svg" \
         "$work/x1/plots/sweep_alignment_bands.svg" "$work/x1/plots/report.html"; do
  [[ -s "$f" ]] || fail "missing $f"
done
echo "reproduction pipeline: sweeps, measure.py and plot all worked ($rows table rows)"
