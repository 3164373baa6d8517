#!/usr/bin/env bash
# Builds the benchmarks (Release) and runs everything of docs/PERFORMANCE.md in one sitting:
# the C++ Google Benchmark program (SGD, products, triad, gemm, snapshot) and the NumPy/SciPy
# reference snapshot on the same data, then prints the summary table.
#
# Usage: bench/run_benchmarks.sh [BUILD_DIR]      (default: build-bench next to this repo's root)
# Env:   REPS=5            Google Benchmark repetitions (the median is reported)
#        PY_REPS=3         timed runs of the NumPy script with OpenBLAS
#        PY_REF_REPS=1     timed runs with the reference BLAS (slow: about a minute each)
#        SKIP_BUILD=1      use the existing build
# The NumPy runs unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which this environment may set
# and which slow current NumPy. NumPy is run twice: with the BLAS Debian's python3-numpy
# gets by default here (reference netlib libblas3 unless OpenBLAS is installed), and with
# Debian's OpenBLAS (libopenblas0-pthread, extracted into the build dir with `apt-get
# download` when it is not installed), which is what a researcher's pip NumPy would use.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build-bench}"
REPS="${REPS:-5}"
PY_REPS="${PY_REPS:-3}"
PY_REF_REPS="${PY_REF_REPS:-1}"
OUT="$BUILD/bench-results"
mkdir -p "$OUT"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSGDSPECTRA_BUILD_SERVICE=OFF \
    -DSGDSPECTRA_BUILD_TESTS=OFF -DSGDSPECTRA_BUILD_BENCH=ON >/dev/null
  cmake --build "$BUILD" -j2 --target sgdspectra_bench
fi
BENCH="$BUILD/bench/sgdspectra_bench"

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
lscpu | grep -E 'Model name|^CPU\(s\)|Thread|MHz' || true
echo "load before: $(uptime)"

echo "== C++ benchmarks ($REPS repetitions, median)"
"$BENCH" --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT/cpp.json" --benchmark_out_format=json \
  --benchmark_filter='BM_(SgdStep|ClassBlock|Full|Triad|DenseGemm|Snapshot)' |
  grep -E '_median|^Benchmark|^-' || true

echo "== snapshot problem dump and per-matrix breakdown (1 thread, tol 1e-10)"
"$BENCH" --dump "$OUT/snapshot.bin" | tee "$OUT/breakdown.txt"

NUMPY_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
echo "== NumPy/SciPy snapshot, default BLAS of /usr/bin/python3"
"${NUMPY_ENV[@]}" /usr/bin/python3 "$ROOT/bench/numpy_snapshot.py" "$OUT/snapshot.bin" \
  --repeats "$PY_REF_REPS" --json "$OUT/numpy_default.json"
if [[ -n "$OPENBLAS_DIR" ]]; then
  echo "== NumPy/SciPy snapshot, OpenBLAS ($OPENBLAS_DIR)"
  "${NUMPY_ENV[@]}" LD_LIBRARY_PATH="$OPENBLAS_DIR" /usr/bin/python3 \
    "$ROOT/bench/numpy_snapshot.py" "$OUT/snapshot.bin" --repeats "$PY_REPS" \
    --json "$OUT/numpy_openblas.json"
fi
echo "load after: $(uptime)"

echo "== summary"
/usr/bin/python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
cpp = json.load(open(os.path.join(out, "cpp.json")))
med = {b["run_name"]: b for b in cpp["benchmarks"] if b.get("aggregate_name") == "median"}

def get(prefix):
    for name, b in med.items():
        if name.startswith(prefix):
            return b
    return None

def secs(b):
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    return b["real_time"] * scale

rows = []
for d in (1000, 10000):
    b = get(f"BM_SgdStep/d:{d}")
    rows.append((f"SGD step, d={d}, k=10", f"{b['items_per_second'] / 1e3:.1f} k steps/s"))
triad = {t: get(f"BM_Triad/threads:{t}")["bytes_per_second"] / 1e9 for t in (1, 2)}
for t in (1, 2):
    rows.append((f"triad, {t} thread(s)", f"{triad[t]:.1f} GB/s"))
g = get("BM_DenseGemm/1000")
rows.append(("Eigen gemm n=1000, 1 thread", f"{g['GFlop/s']:.1f} GFlop/s"))
for kind in ("ClassBlockH", "ClassBlockG", "FullH", "FullG"):
    for d in (2000, 1000):
        for t in (1, 2):
            b = get(f"BM_{kind}Product/threads:{t}/d:{d}/")
            bw = b["bytes_per_second"] / 1e9
            rows.append((f"{kind} product d={d} M={2 * d}, {t} thr",
                         f"{secs(b) * 1e3:.2f} ms, {bw:.1f} GB/s = {bw / triad[t]:.0%} of triad, "
                         f"{b['GFlop/s']:.1f} GFlop/s"))
snap = {}
for t in (1, 2):
    for e in (10, 6):
        b = get(f"BM_Snapshot/threads:{t}/tol_exp:{e}/")
        snap[(t, e)] = secs(b)
        rows.append((f"C++ snapshot, {t} thr, tol 1e-{e}",
                     f"{secs(b):.2f} s, {int(b['products'])} products"))
for tag, name in (("numpy_default", "NumPy/SciPy default BLAS"), ("numpy_openblas", "NumPy/SciPy OpenBLAS")):
    path = os.path.join(out, tag + ".json")
    if not os.path.exists(path):
        continue
    p = json.load(open(path))
    # Target: C++ snapshot >= 20x faster than NumPy at equal accuracy (both at tol 1e-6).
    rows.append((f"{name}, tol 1e-6",
                 f"{p['seconds']:.2f} s, {p['products']} matvecs, max rel diff "
                 f"{p['max_rel_diff']:.1e}; C++ tol 1e-6 is {p['seconds'] / snap[(1, 6)]:.1f}x "
                 f"(1 thr) / {p['seconds'] / snap[(2, 6)]:.1f}x (2 thr) faster"))
width = max(len(r[0]) for r in rows)
for a, b in rows:
    print(f"{a:<{width}}  {b}")
EOF
