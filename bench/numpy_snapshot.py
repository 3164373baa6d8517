#!/usr/bin/python3
"""The k-GMM snapshot analysis done the way a researcher would: NumPy + SciPy's eigsh.

Reference for the C++ snapshot benchmark (docs/PERFORMANCE.md). It reads the problem written
by `sgdspectra_bench --dump PATH` (test sample, null inputs, labels, trained weights and the
C++ eigenvalues), redoes the same analysis with `scipy.sparse.linalg.eigsh` on a
`LinearOperator` per matrix, times it, and checks its eigenvalues against the C++ ones.

Same work as the core k-GMM snapshot (TaskRun::Analyze, core/src/kgmm_run.cc), default settings:
  - softmax outputs on the test sample;
  - for each class c, H_cc and G_cc (matvec Y^T (w * (Y v)) / M): top r = 2k + 4 eigenpairs,
    plus the null model (same weights on the noise inputs) top eigenvalue as the bulk edge;
  - full H and G (kd x kd): top r = 2k(k-1) + 4, plus their null model;
  - ncv = max(2r + 1, 20); outlier counts, alignment and overlap with the means' span.
eigsh's tol bounds each Ritz value's residual by tol * |value|, and for a symmetric matrix the
eigenvalue error is at most that residual, so tol = 1e-6 gives 1e-6 relative accuracy.

Usage: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/numpy_snapshot.py \
         PATH [--tol 1e-6] [--repeats 3] [--json OUT] [--oracle-r --null-tol 1e-4]
"""

import argparse
import json
import sys
import time

import numpy as np
import scipy
from scipy.sparse.linalg import LinearOperator, eigsh

MARGIN = 0.05  # OutlierSettings::margin


def read_dump(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:8] != b"SGDSNAP1":
        sys.exit(f"{path}: not an sgdspectra_bench --dump file")
    off = 8
    d, k, m, num_spectra = np.frombuffer(raw, "<i8", 4, off)
    d, k, m = int(d), int(k), int(m)
    off += 32

    def take(dtype, count):
        nonlocal off
        arr = np.frombuffer(raw, dtype, count, off)
        off += arr.nbytes
        return arr

    inputs = take("<f8", m * d).reshape(m, d)
    noise = take("<f8", m * d).reshape(m, d)
    labels = take("<i8", m).astype(np.intp)
    weights = take("<f8", k * d).reshape(k, d)
    spectra = []
    for _ in range(int(num_spectra)):
        matrix, block, index, r = (int(v) for v in take("<i8", 4))
        values = take("<f8", r).copy()
        edge = float(take("<f8", 1)[0])
        spectra.append(dict(matrix="HG"[matrix], block=("class", "full")[block],
                            index=index, values=values, edge=edge))
    # np.frombuffer views are read-only and share the bytes; copy into ordinary arrays so
    # BLAS sees aligned, writable, C-contiguous memory like any researcher's arrays.
    return d, k, m, inputs.copy(), noise.copy(), labels, weights.copy(), spectra


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def class_operator(y, w):
    m, d = y.shape

    def matvec(v):
        return y.T @ (w * (y @ v.ravel())) / m

    return LinearOperator((d, d), matvec=matvec, dtype=np.float64)


def full_operator(y, mixing, k):
    """kd x kd operator; vector layout as in the core: block c = entries [c*d, (c+1)*d)."""
    m, d = y.shape

    def matvec(v):
        z = y @ v.reshape(k, d).T  # M x k
        return (mixing(z).T @ y).ravel() / m

    return LinearOperator((k * d, k * d), matvec=matvec, dtype=np.float64)


def top_eigs(op, r, tol, rng):
    n = op.shape[0]
    ncv = min(max(2 * r + 1, 20), n)
    v0 = rng.standard_normal(n)
    vals, vecs = eigsh(op, k=r, which="LA", ncv=ncv, tol=tol, v0=v0)
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:, order]


def alignment(vecs, r, x):
    if r == 0:
        return 0.0
    return float(np.linalg.norm(vecs[:, :r].T @ x) / np.linalg.norm(x))


def overlap(vecs, r, q):
    return float(np.linalg.norm(vecs[:, :r].T @ q) ** 2 / r)


def analyze(d, k, m, y, noise, labels, weights, means_basis, tol, seed, oracle=None,
            null_tol=None):
    """One snapshot; returns per-matrix reports and the number of matvecs.

    oracle: None (every matrix asks eigsh for the fixed r = 2 x expected + 4, as the core did
    before targeted solves), or a dict tag -> the C++ outlier count: eigsh is then told the r it
    needs, max(count + 2, expected) (the expected pairs are what alignment and overlap at
    r = expected read), the best a researcher who knew the answer could do.
    null_tol: tolerance of the null-model edge solves (default: tol)."""
    null_tol = tol if null_tol is None else null_tol
    rng = np.random.default_rng(seed)
    products = 0
    probs = softmax(y @ weights.T)
    onehot = np.zeros((m, k))
    onehot[np.arange(m), labels] = 1.0
    resid = probs - onehot
    test_loss = float(np.mean(-np.log(probs[np.arange(m), labels])))
    reports = []

    def solve(op, null_op, r, expected, params, mean_ref, tag):
        nonlocal products
        counter = [0]

        def counted(o):
            def mv(v):
                counter[0] += 1
                return o.matvec(v)
            return LinearOperator(o.shape, matvec=mv, dtype=np.float64)

        if oracle is not None:
            r = max(oracle[tag] + 2, expected)
        edge = top_eigs(counted(null_op), 1, null_tol, rng)[0][0]
        vals, vecs = top_eigs(counted(op), r, tol, rng)
        products += counter[0]
        count = int(np.sum(vals > edge * (1 + MARGIN)))
        reports.append(dict(tag=tag, values=vals, edge=float(edge), outliers=count,
                            align=alignment(vecs, count, params),
                            align_expected=alignment(vecs, expected, params),
                            overlap=overlap(vecs, expected, mean_ref)))

    r_class = 2 * k + 4
    for c in range(k):
        for kind in "HG":
            w = probs[:, c] * (1 - probs[:, c]) if kind == "H" else resid[:, c] ** 2
            solve(class_operator(y, w), class_operator(noise, w), r_class, k, weights[c],
                  means_basis, f"{kind}_{c}{c}")

    def hess_mix(p):
        return lambda z: p * (z - np.sum(p * z, axis=1, keepdims=True))

    def g_mix(e):
        return lambda z: e * np.sum(e * z, axis=1, keepdims=True)

    full_basis = np.kron(np.eye(k), means_basis)  # kd x k^2, I_k kron Q
    r_full = 2 * k * (k - 1) + 4
    for kind, mix in (("H", hess_mix(probs)), ("G", g_mix(resid))):
        solve(full_operator(y, mix, k), full_operator(noise, mix, k), r_full, k * (k - 1),
              weights.ravel(), full_basis, f"{kind}_full")
    return reports, products, test_loss


def blas_description():
    """Which BLAS numpy calls, and how many threads it uses."""
    try:
        import threadpoolctl
        info = threadpoolctl.threadpool_info()
        return "; ".join(f"{i.get('internal_api')} {i.get('version')} "
                         f"({i.get('architecture')}, {i.get('num_threads')} threads, "
                         f"{i.get('filepath')})" for i in info) or "none found"
    except ImportError:
        pass
    # Without threadpoolctl: the shared objects actually mapped after a BLAS call.
    np.ones((64, 64)) @ np.ones((64, 64))
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if any(s in path for s in ("blas", "lapack", "blis", "mkl")):
                libs.add(path)
    desc = ", ".join(sorted(libs)) or "unknown"
    if any("openblas" in p for p in libs):
        try:
            import ctypes
            lib = ctypes.CDLL(next(p for p in libs if "openblas" in p or "libblas" in p))
            lib.openblas_get_corename.restype = ctypes.c_char_p
            desc += (f" [OpenBLAS core {lib.openblas_get_corename().decode()},"
                     f" {lib.openblas_get_num_threads()} threads]")
        except (AttributeError, OSError, StopIteration):
            pass
    return desc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump", help="file written by sgdspectra_bench --dump")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs; the median is reported")
    ap.add_argument("--json", help="also write the summary as JSON here")
    ap.add_argument("--oracle-r", action="store_true",
                    help="ask eigsh per matrix for max(C++ outlier count + 2, expected) pairs "
                         "instead of 2 x expected + 4")
    ap.add_argument("--null-tol", type=float, default=None,
                    help="tolerance of the null-model edge solves (default: --tol)")
    args = ap.parse_args()

    d, k, m, y, noise, labels, weights, cpp = read_dump(args.dump)
    print(f"numpy {np.__version__}, scipy {scipy.__version__}; BLAS: {blas_description()}")
    print(f"d={d} k={k} M={m}  tol={args.tol:g}")
    # The means' span, as the analyser gets it: the class-conditional means of the inputs
    # minus the noise are exactly the means.
    means = np.array([(y - noise)[labels == a][0] for a in range(k)])
    means_basis = np.linalg.qr(means.T)[0]

    oracle = None
    if args.oracle_r:
        oracle = {(f"{s['matrix']}_{s['index']}{s['index']}" if s["block"] == "class"
                   else f"{s['matrix']}_full"): int(np.sum(s["values"] > s["edge"] * (1 + MARGIN)))
                  for s in cpp}
        print("oracle r: eigsh asked for max(C++ outlier count + 2, expected) pairs per matrix")
    times = []
    for rep in range(args.repeats):
        start = time.perf_counter()
        reports, products, test_loss = analyze(d, k, m, y, noise, labels, weights, means_basis,
                                               args.tol, seed=rep, oracle=oracle,
                                               null_tol=args.null_tol)
        times.append(time.perf_counter() - start)
        print(f"  run {rep + 1}: {times[-1]:.3f} s, {products} matvecs")
    median = float(np.median(times))
    print(f"snapshot (NumPy/SciPy): median {median:.3f} s over {len(times)} runs, "
          f"{products} matvecs, test loss {test_loss:.6f}")

    # Accuracy against the C++ values (core default tol 1e-10: exact to ~1e-10).
    by_tag = {f"{s['matrix']}_{s['index']}{s['index']}" if s["block"] == "class"
              else f"{s['matrix']}_full": s for s in cpp}
    worst = 0.0
    for rep in reports:
        ref = by_tag[rep["tag"]]
        n = min(len(ref["values"]), len(rep["values"]))
        rel = np.max(np.abs(rep["values"][:n] - ref["values"][:n]) / np.abs(ref["values"][:n]))
        worst = max(worst, float(rel))
    for tag in ("H_00", "H_full"):
        rep, ref = next(r for r in reports if r["tag"] == tag), by_tag[tag]
        print(f"{tag}: top eigenvalues (NumPy | C++), outliers {rep['outliers']} | edge "
              f"{rep['edge']:.6g} vs C++ {ref['edge']:.6g}")
        for i in range(min(6, len(rep["values"]))):
            print(f"    {rep['values'][i]:.12g}  |  {ref['values'][i]:.12g}")
    # Outlier counts: the scientific answer, which must agree exactly.
    counts_equal = sum(rep["outliers"] == int(np.sum(by_tag[rep["tag"]]["values"] >
                                                     by_tag[rep["tag"]]["edge"] * (1 + MARGIN)))
                       for rep in reports)
    print(f"outlier counts equal to C++ in {counts_equal} of {len(reports)} matrices")
    ok = worst <= 1e-6
    print(f"max relative eigenvalue difference vs C++ over all {len(reports)} matrices: "
          f"{worst:.2e} ({'OK' if ok else 'FAIL'}: <= 1e-6)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(seconds=median, runs=times, products=products, tol=args.tol,
                           max_rel_diff=worst, counts_equal=counts_equal,
                           matrices=len(reports), oracle_r=bool(args.oracle_r),
                           blas=blas_description()), f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
