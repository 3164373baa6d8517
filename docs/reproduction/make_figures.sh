#!/usr/bin/env bash
# Draws docs/REPRODUCTION.md's figures from its three sweep folders with the Python figures
# (python3 -m sgdspectra.plot) and copies the ones the page shows into docs/reproduction/figures/
# under their page names. Each plot folder under REPRO/plots keeps every figure and report.html.
#
# Usage: docs/reproduction/make_figures.sh REPRO [PYTHON]
#   REPRO holds k1/, k5/ and x1/ (the sweeps of docs/REPRODUCTION.md's commands); PYTHON
#   (default /usr/bin/python3) must import sgdspectra: an installed package, or this checkout's
#   clients/python (used here) with SGDSPECTRA_STUBS_DIR set.
set -euo pipefail

repro=$1
python=${2:-/usr/bin/python3}
repo=$(cd "$(dirname "$0")/../.." && pwd)
figures="$repo/docs/reproduction/figures"
plot=(env PYTHONPATH="$repo/clients/python${PYTHONPATH:+:$PYTHONPATH}" "$python" -m sgdspectra.plot)
p="$repro/plots"

"${plot[@]}" "$repro/k1/jobs/0000.events.jsonl" --out "$p/k1_l20" --times 0,20 > /dev/null   # lambda = 20
"${plot[@]}" "$repro/k1/jobs/0001.events.jsonl" --out "$p/k1_l100" > /dev/null               # lambda = 100
"${plot[@]}" "$repro/k5/jobs/0000.events.jsonl" --out "$p/k5" > /dev/null
"${plot[@]}" "$repro/k1/jobs/0000.events.jsonl" "$repro/k5/jobs/0000.events.jsonl" \
  --out "$p/k1_k5" > /dev/null                                                              # beta 0.1 vs 0
"${plot[@]}" "$repro/x1" --out "$p/x1" > /dev/null                                          # the sweep
"${plot[@]}" "$repro/x1/jobs/0022.events.jsonl" --out "$p/x1_seed22" > /dev/null           # a success
"${plot[@]}" "$repro/x1/jobs/0002.events.jsonl" --out "$p/x1_seed2" > /dev/null            # sub-optimal

copy() { cp "$p/$1.svg" "$figures/$2.svg"; }
mkdir -p "$figures"
copy k1_l20/eigenvalues_H_class0 k1_lambda20_H_class0
copy k1_l100/eigenvalues_H_class0 k1_lambda100_H_class0
copy k1_l20/eigenvalues_G_class0 k1_lambda20_G_class0
copy k1_l100/eigenvalues_G_class0 k1_lambda100_G_class0
copy k1_l20/alignment k1_lambda20_alignment
copy k1_l100/alignment k1_lambda100_alignment
copy k1_l20/eigenvalues_H_full k1_lambda20_H_full
copy k1_l100/eigenvalues_H_full k1_lambda100_H_full
copy k1_l20/spectrum_t0 k1_lambda20_spectrum_t0
copy k1_l20/spectrum_t20 k1_lambda20_spectrum_t20
copy k5/alignment k5_alignment
copy k1_k5/runs k1_k5_runs
copy x1/sweep_success x1_sweep_success
copy x1/sweep_rank x1_sweep_rank
copy x1/sweep_accuracy x1_sweep_accuracy
copy x1/sweep_alignment_bands x1_sweep_alignment_bands
copy x1/sweep_second_layer_outliers x1_sweep_second_layer_outliers
copy x1_seed22/eigenvalues_H_layer2 x1_seed22_H_layer2
copy x1_seed2/eigenvalues_H_layer2 x1_seed2_H_layer2
copy x1_seed22/eigenvalues_H_neuron0 x1_seed22_H_neuron0
copy x1_seed22/alignment x1_seed22_alignment
copy x1_seed22/second_layer x1_seed22_second_layer
echo "figures in $figures; every figure and report.html in $p"
