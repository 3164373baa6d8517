#!/usr/bin/python3
"""Compares two snapshot reports written by bench/snapshot_timer or bench/experiment_dump (e.g.
this tree vs an older build on the same data): equal outlier counts, outlier eigenvalues to a relative tolerance,
alignment and overlap to an absolute tolerance. Exits 1 on any disagreement.

Usage: bench/compare_snapshots.py OLD.json NEW.json [--rel 1e-6] [--abs 1e-6]
"""
import argparse
import json
import sys


def key(s, snapshot=0):
    return (snapshot, s["matrix"], s["block"], s["index"])


def spectra(path):
    """Every spectrum of a report, keyed by (snapshot, matrix, block, index)."""
    report = json.load(open(path))
    snapshots = report.get("snapshots", [{"index": 0, "spectra": report.get("spectra", [])}])
    return {key(s, snap["index"]): s for snap in snapshots for s in snap["spectra"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rel", type=float, default=1e-6, help="outlier eigenvalues, relative")
    ap.add_argument("--abs", type=float, default=1e-6, help="alignment and overlap, absolute")
    args = ap.parse_args()
    old = spectra(args.old)
    new = spectra(args.new)
    if old.keys() != new.keys():
        sys.exit(f"different blocks: {sorted(old.keys() ^ new.keys())}")
    worst = {"value": 0.0, "align_outliers": 0.0, "align_expected": 0.0, "overlap": 0.0}
    failures = []
    for k in sorted(old):
        a, b = old[k], new[k]
        name = f"snapshot {k[0]}: {k[1]} {k[2]} {k[3]}"
        if a["count"] != b["count"]:
            failures.append(f"{name}: count {a['count']} vs {b['count']}")
            continue
        for i in range(a["count"]):
            rel = abs(a["values"][i] - b["values"][i]) / abs(a["values"][i])
            worst["value"] = max(worst["value"], rel)
            if rel > args.rel:
                failures.append(f"{name}: value {i} {a['values'][i]!r} vs {b['values'][i]!r}")
        for field in ("align_outliers", "align_expected", "overlap"):
            diff = abs(a[field] - b[field])
            worst[field] = max(worst[field], diff)
            if diff > args.abs:
                failures.append(f"{name}: {field} {a[field]!r} vs {b[field]!r}")
    print(f"{len(old)} spectra; counts equal in {len(old) - sum('count' in f for f in failures)}; "
          f"max rel outlier-eigenvalue diff {worst['value']:.1e}; max abs diff: alignment "
          f"(outliers) {worst['align_outliers']:.1e}, alignment (expected) "
          f"{worst['align_expected']:.1e}, overlap {worst['overlap']:.1e}")
    for f in failures:
        print("  MISMATCH", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
