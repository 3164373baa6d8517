#!/usr/bin/env bash
# Runs every figure of docs/PERFORMANCE.md in one sitting: this tree against an older release
# (built from git in a temporary worktree) on the same data, the NumPy/SciPy reference, SGD
# steps, and the d = 10^4 snapshot.
#
# Usage: bench/run_benchmarks.sh [BUILD_DIR]        (default: build-bench next to this repo)
# Env:   OLD_REF=158197e   the older release to time (the last commit before the lockstep engine)
#        REPS=3            timed analyses per snapshot configuration (median reported)
#        PY_REPS=2         timed runs of the NumPy script
#        BIG=1             also the d = 10^4, k = 10 snapshot on two threads (about 5-10 min)
#        SKIP_BUILD=1      reuse existing builds
# Everything runs on the data of random stream version 1 (what the older release draws), so
# both builds analyse bit-identical samples; bench/compare_snapshots.py then checks that they
# report the same counts, outlier eigenvalues, alignments and overlaps.
# Both builds are tuned for this machine (-DSGDSPECTRA_NATIVE_ARCH=ON, -march=native: AVX2/FMA,
# AVX-512 where there is one), as the figures of docs/PERFORMANCE.md were measured; the
# project's default build is portable (no -march=native) and slower.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build-bench}"
OLD_REF="${OLD_REF:-158197e}"
REPS="${REPS:-3}"
PY_REPS="${PY_REPS:-2}"
OUT="$BUILD/bench-results"
OLD_SRC="$BUILD/old-src"
mkdir -p "$OUT"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSGDSPECTRA_NATIVE_ARCH=ON \
    -DSGDSPECTRA_BUILD_SERVICE=OFF -DSGDSPECTRA_BUILD_TESTS=OFF -DSGDSPECTRA_BUILD_BENCH=ON >/dev/null
  cmake --build "$BUILD" -j2 --target sgdspectra_bench snapshot_timer experiment_dump
  # The older release: its core library, and our timer compiled against it.
  rm -rf "$OLD_SRC"
  git -C "$ROOT" worktree prune
  git -C "$ROOT" worktree add -f -q "$OLD_SRC" "$OLD_REF"
  cmake -S "$OLD_SRC" -B "$OLD_SRC/build" -DCMAKE_BUILD_TYPE=Release -DSGDSPECTRA_NATIVE_ARCH=ON \
    -DSGDSPECTRA_BUILD_SERVICE=OFF -DSGDSPECTRA_BUILD_TESTS=OFF -DSGDSPECTRA_BUILD_BENCH=OFF >/dev/null
  cmake --build "$OLD_SRC/build" -j2 --target sgdspectra_core
  for tool in snapshot_timer experiment_dump; do
    g++ -std=c++17 -O3 -DNDEBUG -march=native -I "$OLD_SRC/core/include" -I "$OLD_SRC/core/src" \
      -I /usr/include/eigen3 -I "$ROOT/bench" "$ROOT/bench/$tool.cc" \
      "$OLD_SRC/build/core/libsgdspectra_core.a" -lpthread -o "$BUILD/${tool}_old"
  done
fi
NEW="$BUILD/bench/snapshot_timer"
OLD="$BUILD/snapshot_timer_old"

# OpenBLAS for the NumPy reference, without touching the system's BLAS alternative.
OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread
if [[ ! -e "$OPENBLAS_DIR/libblas.so.3" ]]; then
  OPENBLAS_DIR="$BUILD/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread"
  if [[ ! -e "$OPENBLAS_DIR/libblas.so.3" ]]; then
    (mkdir -p "$BUILD/openblas" && cd "$BUILD/openblas" &&
      apt-get download libopenblas0-pthread >/dev/null 2>&1 &&
      dpkg -x libopenblas0-pthread_*.deb root) || OPENBLAS_DIR=""
  fi
fi

echo "== machine"
lscpu | grep -E 'Model name|^CPU\(s\)|Thread' || true
echo "load before: $(uptime)"

echo "== SGD steps (d = 1000 and 10000, k = 10)"
"$BUILD/bench/sgdspectra_bench" --benchmark_filter='BM_SgdStep' --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true | grep -E 'median' || true

snapshot() {  # name d k threads [extra timer args]
  local name=$1 d=$2 k=$3 t=$4
  shift 4
  echo "== snapshot $name: d=$d k=$k threads=$t"
  "$OLD" --d "$d" --k "$k" --threads "$t" --repeats "$REPS" --out "$OUT/old_$name.json" "$@" 2>/dev/null
  "$NEW" --d "$d" --k "$k" --threads "$t" --repeats "$REPS" --out "$OUT/new_$name.json" "$@" 2>/dev/null
  python3 "$ROOT/bench/compare_snapshots.py" "$OUT/old_$name.json" "$OUT/new_$name.json" || true
}
snapshot d1000_t1 1000 10 1
snapshot d1000_t2 1000 10 2
snapshot d1000_t1_tol6 1000 10 1 --tol 1e-6
snapshot d2000k5_t1 2000 5 1
snapshot d2000k5_t2 2000 5 2

echo "== NumPy/SciPy snapshot on the same data, eigsh told the r it needs, 1 thread"
"$BUILD/bench/sgdspectra_bench" --dump "$OUT/snapshot.bin" | head -1
if [[ -n "$OPENBLAS_DIR" ]]; then
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
    LD_LIBRARY_PATH="$OPENBLAS_DIR" /usr/bin/python3 "$ROOT/bench/numpy_snapshot.py" \
    "$OUT/snapshot.bin" --tol 1e-6 --oracle-r --null-tol 1e-4 --repeats "$PY_REPS" \
    --json "$OUT/numpy_oracle.json" | tail -3
fi
"$NEW" --d 1000 --k 10 --threads 1 --repeats "$REPS" --stream-version 2 \
  --out "$OUT/new_dump_data.json" 2>/dev/null

if [[ "${BIG:-0}" == 1 ]]; then
  echo "== d = 10^4, k = 10, M = 2 x 10^4, two threads (peak RSS from the timer)"
  "$NEW" --d 10000 --k 10 --threads 2 --repeats 1 --stream-version 2 --out "$OUT/new_d10000.json"
fi
echo "load after: $(uptime)"

echo "== summary"
/usr/bin/python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None
rows = []
for name in ("d1000_t1", "d1000_t2", "d1000_t1_tol6", "d2000k5_t1", "d2000k5_t2"):
    old, new = load(f"old_{name}.json"), load(f"new_{name}.json")
    if old and new:
        rows.append((name, f"old {old['median_seconds']:.2f} s ({old['products']} products), "
                           f"new {new['median_seconds']:.2f} s ({new['products']} products): "
                           f"{old['median_seconds'] / new['median_seconds']:.2f}x"))
t1, t2 = load("new_d1000_t1.json"), load("new_d1000_t2.json")
if t1 and t2:
    rows.append(("new, 2 threads over 1 (d=1000)", f"{t1['median_seconds'] / t2['median_seconds']:.2f}x"))
py, mine = load("numpy_oracle.json"), load("new_dump_data.json")
if py and mine:
    rows.append(("NumPy oracle-r (1 thread) vs new (1 thread)",
                 f"{py['seconds']:.2f} s vs {mine['median_seconds']:.2f} s: "
                 f"{py['seconds'] / mine['median_seconds']:.2f}x; counts equal "
                 f"{py['counts_equal']}/{py['matrices']}, max rel diff {py['max_rel_diff']:.1e}"))
big = load("new_d10000.json")
if big:
    rows.append(("d=1e4 k=10, 2 threads", f"{big['median_seconds']:.1f} s, {big['products']} products, "
                 f"peak RSS {big['peak_rss_bytes'] / 2**30:.2f} GiB (estimate "
                 f"{big['estimated_bytes'] / 2**30:.2f} GiB)"))
width = max(len(r[0]) for r in rows)
for a, b in rows:
    print(f"{a:<{width}}  {b}")
PY
