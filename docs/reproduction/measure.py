#!/usr/bin/env python3
"""Prints the "measured" tables of docs/REPRODUCTION.md from `sgdspectra sweep` result folders.

Usage: /usr/bin/python3 docs/reproduction/measure.py K1_DIR K5_DIR X1_DIR

K1_DIR: sweep of examples/paper/k1_lambda20.json with --set lambda=20,100 (rows K1-K4);
K5_DIR: sweep of examples/paper/k5_no_ridge.json; X1_DIR: sweep of examples/paper/x1_xor.json
over many seeds (rows X1-X3). Reads only the folders' summary.csv, aggregates.csv,
outlier_success.csv and jobs/*.events.jsonl (one JobEvent per line, proto3 JSON mapping), so it
needs nothing but the standard library.
"""

import csv
import json
import os
import statistics
import sys


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def snapshots(folder, events_file):
    out = []
    with open(os.path.join(folder, events_file)) as f:
        for line in f:
            event = json.loads(line)
            if "snapshot" in event:
                out.append(event["snapshot"])
    return out


def spectra(snapshot, matrix, block):
    return [s for s in snapshot["spectra"] if s["matrix"] == matrix and s["block"] == block]


def k_rows(folder):
    print("## K1-K4 (%s)\n" % folder)
    for row in read_csv(os.path.join(folder, "summary.csv")):
        lam = row["kgmm.snr"]
        snaps = snapshots(folder, row["events_file"])
        print("lambda = %s (seed %s, job %s, final test accuracy %s, classifier rank %s/%s)\n"
              % (lam, row["seed"], row["job_id"], row["final_test_accuracy"],
                 row["outlier_rank"], row["expected_rank"]))
        print("| t | H_cc outliers (min-max over c) | G_cc outliers | align(x^c, E_k(H_cc)) mean "
              "[min, max] | overlap(E_k(H_cc), span mu) [min, max] | full H outliers | "
              "full H lambda_4/lambda_5 |")
        print("|---|---|---|---|---|---|---|")
        for snap in snaps:
            h = spectra(snap, "HESSIAN", "CLASS_BLOCK")
            g = spectra(snap, "G_MATRIX", "CLASS_BLOCK")
            full = spectra(snap, "HESSIAN", "FULL")
            align = [s["alignmentAtExpected"] for s in h]
            overlap = [s["overlapWithMeans"] for s in h]
            ratio = "-"
            full_count = "-"
            if full:
                top = full[0]["topEigenvalues"]
                ratio = "%.2f" % (top[3] / top[4])
                full_count = "%d/%d" % (full[0]["outlierCount"], full[0]["expectedOutliers"])
            print("| %g | %d-%d of %d | %d-%d | %.3f [%.3f, %.3f] | [%.4f, %.4f] | %s | %s |"
                  % (snap["time"], min(s["outlierCount"] for s in h),
                     max(s["outlierCount"] for s in h), h[0]["expectedOutliers"],
                     min(s["outlierCount"] for s in g), max(s["outlierCount"] for s in g),
                     statistics.mean(align), min(align), max(align), min(overlap), max(overlap),
                     full_count, ratio))
        print()


def k5_rows(folder, k1_folder):
    print("## K5 (%s)\n" % folder)
    rows = read_csv(os.path.join(folder, "summary.csv"))
    with_ridge = [r for r in read_csv(os.path.join(k1_folder, "summary.csv"))
                  if r["kgmm.snr"] == "20"]
    print("| t | off-mean norm / start, beta = 0 | align, beta = 0 | off-mean norm / start, "
          "beta = 0.1 (K1) | align, beta = 0.1 |")
    print("|---|---|---|---|---|")
    no_ridge = snapshots(folder, rows[0]["events_file"])
    ridge = snapshots(k1_folder, with_ridge[0]["events_file"])
    start0 = statistics.mean(no_ridge[0]["offMeanNorms"])
    start1 = statistics.mean(ridge[0]["offMeanNorms"])
    for a, b in zip(no_ridge, ridge):
        print("| %g | %.3f | %.3f | %.3f | %.3f |" % (
            a["time"], statistics.mean(a["offMeanNorms"]) / start0,
            statistics.mean(s["alignmentAtExpected"]
                            for s in spectra(a, "HESSIAN", "CLASS_BLOCK")),
            statistics.mean(b["offMeanNorms"]) / start1,
            statistics.mean(s["alignmentAtExpected"]
                            for s in spectra(b, "HESSIAN", "CLASS_BLOCK"))))
    print()


def x_rows(folder):
    print("## X1-X3 (%s)\n" % folder)
    for agg in read_csv(os.path.join(folder, "aggregates.csv")):
        print("X1: %s successes of %s runs that reached the end: fraction %.4f, 95%% Wilson "
              "interval [%.3f, %.3f]; mean final accuracy %.3f; rank-deficient fraction %.3f\n"
              % (agg["successes"], agg["finished"], float(agg["success_fraction"]),
                 float(agg["ci_low"]), float(agg["ci_high"]), float(agg["mean_accuracy"]),
                 float(agg["rank_deficient_fraction"])))
    print("X2 joint table (final second-layer outlier count x success):\n")
    print("| outliers | success | failure |")
    print("|---|---|---|")
    joint = {}
    for row in read_csv(os.path.join(folder, "outlier_success.csv")):
        joint.setdefault(int(row["outlier_rank"]), [0, 0])[int(row["success"])] += int(row["count"])
    for rank in sorted(joint):
        if sum(joint[rank]):
            print("| %d | %d | %d |" % (rank, joint[rank][1], joint[rank][0]))
    print()
    summary = read_csv(os.path.join(folder, "summary.csv"))
    at_zero = []
    first_nonzero = []
    neuron_counts_end, neuron_overlap_end, align_start, align_end = [], [], [], []
    align_end_live, dead = [], 0
    covered_equals = 0
    for row in summary:
        snaps = snapshots(folder, row["events_file"])
        layer2 = [spectra(s, "HESSIAN", "SECOND_LAYER")[0] for s in snaps]
        at_zero.append(layer2[0]["outlierCount"])
        nonzero = [s["time"] for s, l in zip(snaps, layer2) if l["outlierCount"] > 0]
        if nonzero:
            first_nonzero.append(nonzero[0])
        first = spectra(snaps[0], "HESSIAN", "NEURON")
        last = spectra(snaps[-1], "HESSIAN", "NEURON")
        neuron_counts_end += [s["outlierCount"] for s in last]
        neuron_overlap_end += [s["overlapWithMeans"] for s in last]
        align_start += [s["alignmentAtExpected"] for s in first]
        align_end += [s["alignmentAtExpected"] for s in last]
        # A neuron whose |W_i| collapsed (v_i started near 0, so it got no signal) keeps its
        # random direction; it is reported apart.
        for s in last:
            if snaps[-1]["weightNorms"][s["blockIndex"]] > 0.01:
                align_end_live.append(s["alignmentAtExpected"])
            else:
                dead += 1
        covered_equals += row["num_covered"] == row["outlier_rank"]
    n = len(summary)
    print("X2: second-layer outliers at t = 0: %d of %d runs have none (max %d); the first "
          "outlier appears at t = %s (median over the %d runs that get one)\n"
          % (sum(c == 0 for c in at_zero), n, max(at_zero),
             "%g" % statistics.median(first_nonzero) if first_nonzero else "-",
             len(first_nonzero)))
    print("X2: covered clusters (behavioural) = outlier count (spectral) in %d of %d runs\n"
          % (covered_equals, n))
    counts = {c: neuron_counts_end.count(c) for c in sorted(set(neuron_counts_end))}
    print("X3 (all %d runs x 4 neurons): neuron-block outlier counts at the end %s; overlap with "
          "span(mu, nu) at the end: median %.4f, min %.4f; align(W_i, E_2) at t = 0: median "
          "%.3f, max %.3f; at the end: median %.4f, min %.4f; %d neurons with |W_i| <= 0.01 "
          "(collapsed), the other %d: min %.4f, %d above 0.99\n"
          % (n, counts, statistics.median(neuron_overlap_end), min(neuron_overlap_end),
             statistics.median(align_start), max(align_start), statistics.median(align_end),
             min(align_end), dead, len(align_end_live), min(align_end_live),
             sum(a > 0.99 for a in align_end_live)))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    k1, k5, x1 = sys.argv[1:]
    k_rows(k1)
    k5_rows(k5, k1)
    x_rows(x1)


if __name__ == "__main__":
    main()
