"""The figures of one job, or of several runs side by side, from the frames.

Each function takes frames (spectra_frame / snapshots_frame, filtered to the jobs to draw; the
`job_id` column tells runs apart) and returns a matplotlib Figure carrying `figure.sgdspectra`
(name, section, caption, overlays: see style.py). `spec` gives the overlays their parameters: a
resolved spec (a plain dict as `load_job` keeps it, or a JobSpec), a JobData, TaskParams, or a
dict {job_id: any of those} for several runs; None draws no overlay.

  eigenvalue_figure     one matrix and block: each top eigenvalue against t; the bulk edge
                        shaded; the outlier threshold dashed; H class blocks at t = 0: the BBP
                        outlier location and the Marchenko-Pastur edge (theory.py, 2.)
  alignment_figure      per matrix: alignment |U_r^T x| / |x| (r = expected: solid, r = outlier
                        count: dotted) and overlap with span(means), against t; at t = 0 the
                        random-direction value sqrt(r/D) (theory.py, 1.) and, for the H class
                        blocks, the BBP overlap (theory.py, 2.)
  accuracy_figure, loss_figure, gradient_overlap_figure
                        test and online-train metrics against t (the train window at t = 0 is
                        empty: not drawn)
  norms_figure          |x^c off span(means)|, |x^c|, and the off-mean norm relative to t = 0
                        (XOR: W_i), per block
  mean_products_figure  x^c . mu_a (k-GMM), W_i . mu and W_i . nu (XOR)
  second_layer_figure   XOR: the second-layer weights v_i against t
  spectrum_figure       one snapshot: per matrix and block kind a histogram of the top
                        eigenvalues with each block's outlier threshold (and the BBP lines at
                        t = 0)
  means_alignment_figure
                        per block: the alignment |P x^c| / |x^c| with span(means), measured
                        (sqrt(1 - (off-mean norm / norm)^2)) and predicted
  runs_figure           several runs: mean class / neuron alignment, test accuracy, test loss,
                        off-mean norm relative to t = 0, one line per run

With analysis.theory the snapshots carry the effective-dynamics prediction (the snapshots
frame's theory_<f> columns): the accuracy, loss, norms, mean-products, second-layer and
means-alignment figures then draw it beside each measured series, dashed in the series' colour
(gid "predicted", legend "predicted"); without it they are drawn as before.
"""

import collections.abc
import math

import numpy

from . import style, theory
from ._data import JobData
from .style import (BAND_COLOR, COLORS, LINESTYLES, MAX_LEGEND, THEORY_COLOR, THRESHOLD_COLOR,
                    apply_time_axis, fitted_legend, new_figure, proxy, record_overlay,
                    series_style, time_scale)

MATRIX_ORDER = ("HESSIAN", "G_MATRIX")
BLOCK_ORDER = ("CLASS_BLOCK", "NEURON", "FIRST_LAYER", "SECOND_LAYER", "FULL")
MATRIX_NAMES = {"HESSIAN": "Hessian", "G_MATRIX": "G-matrix"}
MATRIX_SHORT = {"HESSIAN": "H", "G_MATRIX": "G"}
BLOCK_FILE = {"CLASS_BLOCK": "class", "NEURON": "neuron", "FIRST_LAYER": "layer1",
              "SECOND_LAYER": "layer2", "FULL": "full"}
BLOCK_SHORT = {"CLASS_BLOCK": "c", "NEURON": "n", "FIRST_LAYER": "L1", "SECOND_LAYER": "L2",
               "FULL": "full"}
PER_UNIT_BLOCKS = ("CLASS_BLOCK", "NEURON")
DEFAULT_BLOCKS_SHOWN = 4
EDGE_METHODS = {"OUTLIER_METHOD_UNSPECIFIED": "null model", "NULL_MODEL": "null model",
                "MARCHENKO_PASTUR": "Marchenko-Pastur", "LARGEST_GAP": "largest gap",
                "DECOY_NULL": "decoy null"}


# ---------------------------------------------------------------------------------------------
# Names and selections


def _order(sequence, value):
    return sequence.index(value) if value in sequence else len(sequence)


def block_key(matrix, block, index):
    """Sort key: H before G; per-class / per-neuron blocks, layers, full; then the index."""
    return (_order(MATRIX_ORDER, matrix), matrix, _order(BLOCK_ORDER, block), block, index)


def block_label(matrix, block, index):
    """"H c0", "G full", "H n1", "H L1", "H L2": the labels of the CLI's table view."""
    short = BLOCK_SHORT.get(block, block.lower())
    suffix = "%s%d" % (short, index) if block in PER_UNIT_BLOCKS else short
    return "%s %s" % (MATRIX_SHORT.get(matrix, matrix), suffix)


def block_file_name(matrix, block, index):
    """"H_class0", "G_full", "H_neuron3", "H_layer1": the stem of a figure's file name."""
    name = "%s_%s" % (MATRIX_SHORT.get(matrix, matrix), BLOCK_FILE.get(block, block.lower()))
    return name + ("%d" % index if block in PER_UNIT_BLOCKS else "")


def block_description(block, index=None):
    if block == "CLASS_BLOCK":
        return "class block c%d" % index if index is not None else "class blocks"
    if block == "NEURON":
        return "neuron block n%d" % index if index is not None else "neuron blocks"
    return {"FIRST_LAYER": "first layer", "SECOND_LAYER": "second layer",
            "FULL": "full matrix"}.get(block, block.lower())


def blocks_of(spectra, max_per_kind=DEFAULT_BLOCKS_SHOWN):
    """The (matrix, block, index) of the frame in reading order; per-class / per-neuron blocks
    only the first max_per_kind (None: all)."""
    keys = {(m, b, int(i)) for m, b, i in
            spectra[["matrix", "block", "block_index"]].drop_duplicates().itertuples(index=False)}
    keys = [k for k in keys if max_per_kind is None or k[1] not in PER_UNIT_BLOCKS
            or k[2] < max_per_kind]
    return sorted(keys, key=lambda k: block_key(*k))


def per_spectrum(spectra):
    """One row per (job, snapshot, spectrum): the spectrum-level columns."""
    return spectra.drop_duplicates(["job_id", "snapshot_index", "matrix", "block",
                                    "block_index"]).sort_values(["job_id", "time"])


def select_snapshots(times, wanted=None):
    """Indices into the sorted distinct `times` of the snapshots nearest each wanted time (a tie
    goes to the earlier), each once, in time order; no wanted times: first, middle, last."""
    times = list(times)
    if not times:
        return []
    if not wanted:
        return sorted({0, len(times) // 2, len(times) - 1})
    chosen = set()
    for target in wanted:
        chosen.add(min(range(len(times)), key=lambda i: (abs(times[i] - target), i)))
    return sorted(chosen)


def job_ids(frame):
    return list(dict.fromkeys(frame["job_id"]))


def _params_by_job(spec, jobs):
    """{job_id: TaskParams or None} from the `spec` argument (see the module docstring)."""
    if spec is None:
        return {}
    if isinstance(spec, collections.abc.Mapping) and spec and all(k in jobs for k in spec):
        return {job: _one_params(value) for job, value in spec.items()}
    if isinstance(spec, (list, tuple)) and spec and isinstance(spec[0], JobData):
        return {job.job_id: _one_params(job) for job in spec}
    params = _one_params(spec)
    return {job: params for job in jobs}


def _one_params(spec):
    if spec is None or isinstance(spec, theory.TaskParams):
        return spec
    if isinstance(spec, JobData):
        return theory.task_params(spec.spec, (spec.accepted or {}).get("test_sample_size"))
    return theory.task_params(spec)


def _headline(params, jobs):
    """"k-GMM d=400 k=4 lambda=20 beta=0.1, seed 1" (+ job id) for a figure's title."""
    if len(jobs) != 1:
        return "%d runs" % len(jobs)
    p = params.get(jobs[0])
    job = jobs[0] or "?"
    if p is None:
        return "job %s" % job
    return "%s, seed %d, job %s" % (task_description(p), p.seed, job)


def task_description(p):
    if p.task == "kgmm":
        return "k-GMM d=%d k=%d lambda=%g beta=%g" % (p.dim, p.units, p.snr, p.ridge)
    return "XOR d=%d K=%d lambda=%g alpha=%g" % (p.dim, p.units, p.snr, p.ridge)


def _time_scale(frame, params, jobs):
    return time_scale(frame["time"], [params.get(j) for j in jobs if params.get(j)])


def _run_labels(params, jobs, labels=None):
    if labels:
        return {job: labels.get(job, job) for job in jobs}
    return {job: job or "run %d" % n for n, job in enumerate(jobs)}


# ---------------------------------------------------------------------------------------------
# Eigenvalues against t


def eigenvalue_figure(spectra, matrix="HESSIAN", block="CLASS_BLOCK", block_index=0, *,
                      spec=None, labels=None, max_legend=MAX_LEGEND):
    """Each top eigenvalue of one block against t, with its bulk edge (shaded), outlier
    threshold (dashed) and, for the k-GMM Hessian class blocks, the t = 0 BBP prediction."""
    if block not in PER_UNIT_BLOCKS:
        block_index = int(spectra.loc[(spectra["matrix"] == matrix) & (spectra["block"] == block),
                                      "block_index"].min()) if len(spectra) else -1
    rows = spectra[(spectra["matrix"] == matrix) & (spectra["block"] == block)
                   & (spectra["block_index"] == block_index)]
    if rows.empty:
        raise ValueError("no %s %s rows to draw" % (matrix, block_description(block,
                                                                               block_index)))
    # A spectrum without a converged eigenvalue has one row with eig_index -1 (its edge and
    # alignment are kept): it has a bulk edge but no eigenvalue series.
    eigen_rows = rows[rows["eig_index"] >= 0]
    jobs = job_ids(rows)
    params = _params_by_job(spec, jobs)
    names = _run_labels(params, jobs, labels)
    description = "%s, %s" % (MATRIX_NAMES.get(matrix, matrix),
                              block_description(block, block_index if block in PER_UNIT_BLOCKS
                                                else None))
    figure, axes = new_figure("eigenvalues_" + block_file_name(matrix, block, block_index),
                              "Top eigenvalues", "", width=7.2, height=4.3)
    ax = axes[0][0]
    scale = _time_scale(rows, params, jobs)
    series_handles, series_labels, values, bands = [], [], [], []
    single = len(jobs) == 1
    expected_max, top_count, methods = 0, 0, set()
    for n, job in enumerate(jobs):
        job_rows = rows[rows["job_id"] == job]
        mine = eigen_rows[eigen_rows["job_id"] == job]
        wide = mine.pivot_table(index="time", columns="eig_index", values="eigenvalue",
                                aggfunc="first", dropna=False).sort_index()
        spectra_rows = per_spectrum(job_rows).set_index("time").sort_index()
        # A snapshot without eigenvalues breaks the lines (NaN) instead of being bridged.
        wide = wide.reindex(spectra_rows.index)
        expected = int(spectra_rows["expected_outliers"].max())
        expected_max = max(expected_max, expected)
        top_count = max(top_count, len(wide.columns))
        methods.update(EDGE_METHODS.get(m, m) for m in spectra_rows["edge_method"])
        t = wide.index.to_numpy(dtype=float)
        for j in wide.columns:
            strong = j < expected
            if single:
                style_kw = series_style(int(j))
            else:
                style_kw = dict(series_style(n), marker="o")
            y = wide[j].to_numpy(dtype=float)
            values.extend(y[numpy.isfinite(y)])
            line, = ax.plot(t, y, linewidth=1.9 if strong else 0.8,
                            alpha=1.0 if strong else 0.55, markersize=3.5 if strong else 2.0,
                            gid="series", **style_kw)
            if single:
                series_handles.append(line)
                series_labels.append("λ%d" % (j + 1))
        if not single:
            series_handles.append(proxy(names[job], color=COLORS[n % len(COLORS)],
                                        linestyle=LINESTYLES[(n // 10) % 4]))
            series_labels.append(names[job])
        edge = spectra_rows["bulk_edge"].to_numpy(dtype=float)
        threshold = spectra_rows["outlier_threshold"].to_numpy(dtype=float)
        values.extend(edge)
        bands.append((spectra_rows.index.to_numpy(dtype=float), edge, threshold,
                      COLORS[n % len(COLORS)] if not single else BAND_COLOR))
    positive = style.log_y_if_positive(ax, values)
    finite = [v for v in values if math.isfinite(v)]
    floor = (min(v for v in finite if v > 0) / 1.6) if positive else min(0.0, min(finite))
    method = "/".join(sorted(methods)) or "?"
    fixed = []
    for n, (t, edge, threshold, color) in enumerate(bands):
        ax.fill_between(t, floor, edge, color=color, alpha=0.25, linewidth=0, gid="band")
        ax.plot(t, threshold, color=THRESHOLD_COLOR if single else color, linestyle="--",
                linewidth=1.0, gid="threshold")
    fixed.append((style.proxy_patch("below the bulk edge (%s)" % method), "below the bulk edge "
                  "(%s)" % method))
    fixed.append((proxy("", color=THRESHOLD_COLOR, linestyle="--"),
                  "outlier threshold: edge x (1 + margin)"))

    # Group the eigenvalues below the expected outliers (and those of them that do not fit)
    # into one legend entry; the BBP overlay's two entries come later.
    bbp_entries = 2 if (matrix, block) == ("HESSIAN", "CLASS_BLOCK") and any(
        theory.bbp_class_block(params.get(j)) for j in jobs) else 0
    if single and len(series_handles) > expected_max:
        strong_n = max(1, min(expected_max, max_legend - len(fixed) - bbp_entries - 1))
        rest = series_labels[strong_n:]
        grouped = proxy("", color=BAND_COLOR, linewidth=0.8)
        series_handles = series_handles[:strong_n] + [grouped]
        if strong_n >= expected_max:
            note = " (thin: below the expected outliers)"
        else:
            note = " (thin from λ%d on)" % (expected_max + 1)
        series_labels = series_labels[:strong_n] + ["%s ... %s%s" % (rest[0], rest[-1], note)]

    caption_overlay = ""
    if matrix == "HESSIAN" and block == "CLASS_BLOCK":
        for n, job in enumerate(jobs):
            p = params.get(job)
            prediction = theory.bbp_class_block(p)
            has_zero = (rows[(rows["job_id"] == job)]["time"] == 0).any()
            if prediction is None or not has_zero:
                continue
            if prediction.outliers:
                locations = sorted(set(round(v, 15) for v in prediction.outliers))
                ax.plot([0.0] * len(locations), locations, linestyle="none", marker="*",
                        markersize=13, color=THEORY_COLOR, markerfacecolor="#ffd700",
                        zorder=5, gid="overlay-bbp-outlier")
            ax.plot([0.0], [prediction.edge], linestyle="none", marker="_", markersize=16,
                    markeredgewidth=2.5, color=THEORY_COLOR, zorder=5, gid="overlay-mp-edge")
            if n == 0:
                record_overlay(figure, "bbp_outliers", prediction.outliers)
                record_overlay(figure, "mp_edge", prediction.edge)
                record_overlay(figure, "bbp_thetas", prediction.thetas)
                record_overlay(figure, "bbp_threshold_theta", prediction.threshold_theta)
                fixed.append((proxy("", linestyle="none", marker="*", markersize=10,
                                    markerfacecolor="#ffd700", color=THEORY_COLOR),
                              "BBP outlier at t = 0: σ²(1+θ)(1+γ/θ)"))
                fixed.append((proxy("", linestyle="none", marker="_", markersize=14,
                                    markeredgewidth=2.5, color=THEORY_COLOR),
                              "MP edge at t = 0: σ²(1+√γ)²"))
                theta = prediction.thetas[0]
                caption_overlay = (
                    " At t = 0, theory (BBP, docs/SCIENCE.md): σ² = (k-1)/(k² λ) = %.4g, "
                    "γ = d/M = %.4g, θ = λ p_a = %.4g %s √γ = %.4g, so %s; Marchenko-Pastur "
                    "edge σ²(1+√γ)² = %.4g (black bar)." % (
                        prediction.sigma2, prediction.gamma, theta,
                        ">" if theta > prediction.threshold_theta else "<=",
                        prediction.threshold_theta,
                        ("outliers at σ²(1+θ)(1+γ/θ) = %s (stars)" % ", ".join(
                            "%.4g" % v for v in sorted(set(round(v, 12) for v in
                                                           prediction.outliers))))
                        if prediction.outliers else "no outlier is predicted",
                        prediction.edge))
    apply_time_axis(ax, scale)
    figure.suptitle(_headline(params, jobs), fontsize="medium")
    ax.set_title("%s: top %d eigenvalues against t" % (description, top_count),
                 fontsize="medium", loc="left")
    ax.set_ylim(bottom=floor if positive else None)
    fitted_legend(ax, series_handles, series_labels, max_legend, fixed=fixed)
    figure.sgdspectra["caption"] = (
        "%s: each of the top %d eigenvalues (%d outliers expected, thick lines) against t; "
        "shaded: below the bulk edge (%s); dashed: the outlier threshold.%s"
        % (description, top_count, expected_max, method, caption_overlay))
    figure.sgdspectra["series"] = top_count if single else len(jobs)
    return figure


# ---------------------------------------------------------------------------------------------
# Alignment and overlap


def alignment_figure(spectra, *, spec=None, blocks_shown=DEFAULT_BLOCKS_SHOWN, labels=None,
                     max_legend=MAX_LEGEND + 3):
    """Per matrix: alignment of each block's parameters with its top eigenspace, and the
    overlap of that space with span(means), against t; theory markers at t = 0."""
    jobs = job_ids(spectra)
    params = _params_by_job(spec, jobs)
    names = _run_labels(params, jobs, labels)
    keys = blocks_of(spectra, blocks_shown)
    matrices = sorted({k[0] for k in keys}, key=lambda m: (_order(MATRIX_ORDER, m), m))
    figure, axes = new_figure("alignment", "Alignment and overlap", "", width=12.0,
                              height=3.6 * len(matrices), nrows=len(matrices), ncols=2,
                              sharex=True)
    scale = _time_scale(spectra, params, jobs)
    rows = per_spectrum(spectra)
    overlay_notes = []
    for r, matrix in enumerate(matrices):
        align_ax, overlap_ax = axes[r]
        handles, texts, overlap_handles, overlap_texts = [], [], [], []
        n = 0
        for job in jobs:
            for key in keys:
                if key[0] != matrix:
                    continue
                sel = rows[(rows["job_id"] == job) & (rows["matrix"] == matrix)
                           & (rows["block"] == key[1]) & (rows["block_index"] == key[2])]
                if sel.empty:
                    continue
                text = block_label(*key) + ("" if len(jobs) == 1 else " " + names[job])
                kw = series_style(n)
                n += 1
                t = sel["time"].to_numpy(dtype=float)
                line, = align_ax.plot(t, sel["alignment_at_expected"], linewidth=1.6,
                                      markersize=3.5, gid="series", **kw)
                align_ax.plot(t, sel["alignment_at_outliers"], color=kw["color"],
                              marker=kw["marker"], linestyle=":", linewidth=1.0, alpha=0.75,
                              markersize=3.5, markerfacecolor="white", gid="series-outliers")
                handles.append(line)
                texts.append(text)
                if key[1] != "SECOND_LAYER":  # hidden space: no means to overlap with
                    line, = overlap_ax.plot(t, sel["overlap_with_means"], linewidth=1.6,
                                            markersize=3.5, gid="series", **kw)
                    overlap_handles.append(line)
                    overlap_texts.append(text)
        fixed = [(proxy("", linestyle="-"), "r = expected outliers"),
                 (proxy("", linestyle=":", marker="o", markerfacecolor="white"),
                  "r = outlier count")]
        overlap_fixed = []
        # Theory at t = 0: the random direction's alignment, per block kind.
        seen = set()
        for job in jobs:
            p = params.get(job)
            if p is None or not (rows[rows["job_id"] == job]["time"] == 0).any():
                continue
            for key in keys:
                if key[0] != matrix or (key[1], p) in seen:
                    continue
                dimension = theory.block_dimension(p, key[1])
                sel = rows[(rows["job_id"] == job) & (rows["matrix"] == matrix)
                           & (rows["block"] == key[1])]
                if dimension is None or sel.empty:
                    continue
                seen.add((key[1], p))
                r_expected = int(sel["expected_outliers"].iloc[0])
                value = theory.random_alignment(r_expected, dimension)
                low, high = theory.random_alignment_interval(r_expected, dimension)
                align_ax.errorbar([0.0], [value], yerr=[[value - low], [high - value]],
                                  fmt="*", markersize=11, color=THEORY_COLOR,
                                  markerfacecolor="#ffd700", capsize=3, zorder=5,
                                  gid="overlay-random-alignment")
                record_overlay(figure, "random_alignment %s %s" % (matrix, key[1]), value)
                record_overlay(figure, "random_alignment_interval %s %s" % (matrix, key[1]),
                               (low, high))
                if (matrix, key[1]) not in [(m, b) for m, b, *_ in overlay_notes]:
                    overlay_notes.append((matrix, key[1], r_expected, dimension, value))
            prediction = theory.bbp_class_block(p) if matrix == "HESSIAN" else None
            if prediction is not None and any(k[1] == "CLASS_BLOCK" for k in keys):
                overlap_ax.plot([0.0], [prediction.overlap_with_means], linestyle="none",
                                marker="*", markersize=13, color=THEORY_COLOR,
                                markerfacecolor="#ffd700", zorder=5, gid="overlay-bbp-overlap")
                if "bbp_overlap" not in figure.sgdspectra["overlays"]:
                    record_overlay(figure, "bbp_overlap", prediction.overlap_with_means)
                    overlap_fixed.append((proxy("", linestyle="none", marker="*", markersize=10,
                                                markerfacecolor="#ffd700", color=THEORY_COLOR),
                                          "H class blocks, t = 0 (BBP): %.4f"
                                          % prediction.overlap_with_means))
        if any(m == matrix for m, *_ in overlay_notes):
            fixed.append((proxy("", linestyle="none", marker="*", markersize=10,
                                markerfacecolor="#ffd700", color=THEORY_COLOR),
                          "random direction, t = 0: √(r/D), 5-95 %"))
        for ax, title in ((align_ax, "alignment of the parameters with the top eigenspace"),
                          (overlap_ax, "overlap of the top eigenspace with span(means)")):
            ax.set_title("%s: %s" % (MATRIX_NAMES.get(matrix, matrix), title),
                         fontsize="medium", loc="left")
            ax.set_ylim(-0.02, 1.04)
            apply_time_axis(ax, scale, label=(r == len(matrices) - 1))
        align_ax.set_ylabel("|U_r^T x| / |x|")
        overlap_ax.set_ylabel("(1/r)|U_r^T Q|_F^2, r = expected")
        fitted_legend(align_ax, handles, texts, max_legend, fixed=fixed)
        fitted_legend(overlap_ax, overlap_handles, overlap_texts, max_legend, fixed=overlap_fixed)
    figure.suptitle(_headline(params, jobs), fontsize="medium")
    notes = "; ".join("%s %s: √(%d/%d) = %.4f" % (MATRIX_SHORT.get(m, m), block_description(b),
                                                  r, d, v)
                      for m, b, r, d, v in overlay_notes)
    bbp = figure.sgdspectra["overlays"].get("bbp_overlap")
    figure.sgdspectra["caption"] = (
        "Left: alignment |U_r^T x|/|x| of each block's parameters with its top-r eigenvectors "
        "(solid: r = expected outliers, dotted: r = outlier count). Right: overlap of the top "
        "eigenspace with the span of the means; 1 = inside.%s%s" % (
            " Stars at t = 0: a random direction's alignment √(r/D) with its 5-95 %% range "
            "(docs/REPRODUCTION.md K2): " + notes + "." if notes else "",
            " Overlap star: the BBP eigenvector overlap (1 - γ/θ²)/(1 + γ/θ) = %.4f "
            "(docs/REPRODUCTION.md K3)." % bbp if bbp is not None else ""))
    return figure


# ---------------------------------------------------------------------------------------------
# Predictions beside the measurements (analysis.theory)

PREDICTED_LINESTYLE = "--"
PREDICTED_CAPTION = (" Dashed, in each series' colour: the effective-dynamics prediction (the "
                     "d → ∞ limit of SGD's summary statistics from the job's own t = 0 values; "
                     "population accuracy and loss; docs/THEORY.md).")


def _predicted_series(rows, column):
    """(t, y) of a prediction column (theory_<f>) in one run's snapshot rows (sorted by time),
    at the snapshots that carry a prediction; None when none does."""
    if column not in rows or "theory_time" not in rows:
        return None
    values = rows[column].astype(float)
    sel = rows[values.notna()]
    if sel.empty:
        return None
    return sel["theory_time"].to_numpy(dtype=float), values[values.notna()].to_numpy()


def _draw_predicted(ax, rows, column, color, transform=None):
    """Draws the prediction `column` dashed in `color` (y -> transform(y) first); the line or
    None."""
    series = _predicted_series(rows, column)
    if series is None:
        return None
    t, y = series
    if transform is not None:
        y = transform(y)
    line, = ax.plot(t, y, color=color, linestyle=PREDICTED_LINESTYLE, linewidth=1.2,
                    alpha=0.9, gid="predicted", label="predicted")
    return line


def _predicted_entry():
    """The legend entry of the dashed prediction lines."""
    return (proxy("", linestyle=PREDICTED_LINESTYLE, color="#444444"), "predicted")


def has_predictions(snapshots):
    """True when some snapshot of the frame carries a prediction (analysis.theory)."""
    return "theory_time" in snapshots and bool(snapshots["theory_time"].notna().any())


# ---------------------------------------------------------------------------------------------
# Per-snapshot metrics


def _metric_figure(snapshots, name, section, columns, ylabel, title, caption, *, spec=None,
                   labels=None, ylim=None, max_legend=MAX_LEGEND, skip_empty_window=(),
                   predicted=None):
    """Each column against t, per run; `columns` = [(column, legend text)]; `predicted` =
    {column: its prediction's column}, drawn dashed where the snapshots carry it."""
    predicted = predicted or {}
    drew_predicted = False
    jobs = job_ids(snapshots)
    params = _params_by_job(spec, jobs)
    names = _run_labels(params, jobs, labels)
    figure, axes = new_figure(name, section, caption, width=7.2, height=4.0)
    ax = axes[0][0]
    handles, texts, fixed = [], [], []
    single = len(jobs) == 1
    for n, job in enumerate(jobs):
        rows = snapshots[snapshots["job_id"] == job].sort_values("time")
        for c, (column, text) in enumerate(columns):
            if column not in rows:
                continue
            sel = rows
            if column in skip_empty_window and "train_window" in rows:
                sel = rows[rows["train_window"] > 0]  # window 0 (t = 0) holds no SGD samples
            kw = series_style(c if single else n)
            if not single and c > 0:
                kw.update(linestyle=(":", "-.", "--")[(c - 1) % 3], alpha=0.8)
            line, = ax.plot(sel["time"], sel[column], linewidth=1.6 if c == 0 else 1.1,
                            markersize=3.5, markerfacecolor="white" if c > 0 else kw["color"],
                            gid="series", **kw)
            if column in predicted:
                drew_predicted |= _draw_predicted(ax, rows, predicted[column],
                                                  kw["color"]) is not None
            if single:
                handles.append(line)
                texts.append(text)
        if not single:
            handles.append(proxy("", **series_style(n)))
            texts.append(names[job])
    if not single:
        fixed = [(proxy("", linestyle=("-", ":", "-.", "--")[c]), text)
                 for c, (_, text) in enumerate(columns)]
    if drew_predicted:
        fixed.append(_predicted_entry())
        figure.sgdspectra["caption"] += PREDICTED_CAPTION
    apply_time_axis(ax, _time_scale(snapshots, params, jobs))
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    figure.suptitle(_headline(params, jobs), fontsize="medium")
    ax.set_title(title, fontsize="medium", loc="left")
    fitted_legend(ax, handles, texts, max_legend, fixed=fixed)
    figure.sgdspectra["series"] = sum(1 for l in ax.lines if l.get_gid() == "series")
    return figure


def accuracy_figure(snapshots, *, spec=None, labels=None, max_legend=MAX_LEGEND):
    """Test accuracy and the online train accuracy against t."""
    return _metric_figure(
        snapshots, "accuracy", "Accuracy and loss",
        [("test_accuracy", "test accuracy"),
         ("train_accuracy", "train accuracy (online window)")],
        "accuracy (fraction correct)", "accuracy against t",
        "Test accuracy on the job's test sample and the mean train accuracy over the SGD "
        "samples since the previous snapshot (none at t = 0), against t.",
        spec=spec, labels=labels, ylim=(-0.02, 1.04), max_legend=max_legend,
        skip_empty_window=("train_accuracy",),
        predicted={"test_accuracy": "theory_test_accuracy"})


def loss_figure(snapshots, *, spec=None, labels=None, max_legend=MAX_LEGEND):
    """Test loss and the online train loss (data-fit cross-entropy) against t."""
    return _metric_figure(
        snapshots, "loss", "Accuracy and loss",
        [("test_loss", "test loss"), ("train_loss", "train loss (online window)")],
        "cross-entropy (data-fit part)", "loss against t",
        "Mean data-fit cross-entropy on the test sample and over the SGD samples since the "
        "previous snapshot (none at t = 0), against t.",
        spec=spec, labels=labels, max_legend=max_legend, skip_empty_window=("train_loss",),
        predicted={"test_loss": "theory_test_loss"})


def gradient_overlap_figure(snapshots, *, spec=None, labels=None, max_legend=MAX_LEGEND):
    """The Gur-Ari overlap |P g|^2 / |g|^2 of the test gradient with the top Hessian space."""
    rank = ""
    if "gradient_overlap_rank" in snapshots and len(snapshots):
        ranks = sorted(set(int(r) for r in snapshots["gradient_overlap_rank"]))
        rank = " (top %s eigenvectors of the full Hessian)" % "/".join(map(str, ranks))
    return _metric_figure(
        snapshots, "gradient_overlap", "Gradient overlap",
        [("gradient_overlap", "|P g|² / |g|²")], "fraction of |g|² in the top space",
        "overlap of the test gradient with the top Hessian eigenspace",
        "Gur-Ari overlap |P g|²/|g|² of the test-loss gradient (with ridge) with the top "
        "eigenvectors of the full Hessian%s, against t." % rank,
        spec=spec, labels=labels, ylim=(-0.02, 1.04), max_legend=max_legend)


def _indexed_columns(frame, prefix):
    """{i: column} of columns named prefix[i] (e.g. off_mean_norms[2])."""
    out = {}
    for column in frame.columns:
        if column.startswith(prefix + "[") and column.endswith("]") and column.count("[") == 1:
            out[int(column[len(prefix) + 1:-1])] = column
    return dict(sorted(out.items()))


def _is_xor(snapshots, params):
    if any(p is not None and p.task == "xor" for p in params.values()):
        return True
    return bool(_indexed_columns(snapshots, "second_layer_weights"))


def _block_norms(snapshots, spec, labels):
    """What the per-block norm figures share: (jobs, params, run names, is XOR, the block's
    symbol pattern, {block: off_mean_norms column}, {block: weight_norms column})."""
    jobs = job_ids(snapshots)
    params = _params_by_job(spec, jobs)
    xor = _is_xor(snapshots, params)
    return (jobs, params, _run_labels(params, jobs, labels), xor, "W_%d" if xor else "x^%d",
            _indexed_columns(snapshots, "off_mean_norms"),
            _indexed_columns(snapshots, "weight_norms"))


def norms_figure(snapshots, *, spec=None, labels=None, blocks_shown=None,
                 max_legend=MAX_LEGEND):
    """Per block: the norm of the parameters off span(means), their norm, and the off-mean norm
    relative to its value at t = 0 (docs/SCIENCE.md K5: without a ridge it does not decay)."""
    jobs, params, names, xor, unit, off, norms = _block_norms(snapshots, spec, labels)
    if blocks_shown is not None:
        off = {i: c for i, c in off.items() if i < blocks_shown}
        norms = {i: c for i, c in norms.items() if i < blocks_shown}
    figure, axes = new_figure(
        "norms", "Norms", "", width=15.0, height=4.0, ncols=3)
    panels = [(axes[0][0], off, "norm off span(means)", "norm off the means' span", False,
               "theory_off_mean_norms"),
              (axes[0][1], norms, "norm of the parameters", "norm", False, "theory_weight_norms"),
              (axes[0][2], off, "off-mean norm relative to t = 0", "ratio to t = 0", True,
               "theory_off_mean_norms")]
    scale = _time_scale(snapshots, params, jobs)
    drew_predicted = False

    def relative_to_first(y):
        return y / y[0] if len(y) and y[0] != 0 else y * math.nan

    for ax, columns, title, ylabel, relative, theory_prefix in panels:
        handles, texts = [], []
        fixed = []
        n = 0
        for job in jobs:
            rows = snapshots[snapshots["job_id"] == job].sort_values("time")
            for i, column in columns.items():
                y = rows[column].to_numpy(dtype=float)
                if relative:
                    y = relative_to_first(y)
                kw = series_style(n)
                line, = ax.plot(rows["time"], y, linewidth=1.5, markersize=3.5, gid="series",
                                **kw)
                # The prediction relative to its own t = 0 value (= the measured one there).
                if _draw_predicted(ax, rows, "%s[%d]" % (theory_prefix, i), kw["color"],
                                   relative_to_first if relative else None) is not None:
                    drew_predicted = True
                    fixed = [_predicted_entry()]
                n += 1
                handles.append(line)
                texts.append((unit % i) + ("" if len(jobs) == 1 else " " + names[job]))
        ax.set_title(title, fontsize="medium", loc="left")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        apply_time_axis(ax, scale)
        fitted_legend(ax, handles, texts, max_legend, outside=False, fixed=fixed)
    figure.suptitle(_headline(params, jobs), fontsize="medium")
    what = "W_i (neuron i)" if xor else "x^c (class c)"
    figure.sgdspectra["caption"] = (
        "Per %s: the norm of the part off the span of the means (left), the whole norm "
        "(middle) and the off-mean norm relative to its value at t = 0 (right; docs/SCIENCE.md "
        "K5: without a ridge it does not decay), against t." % what
        + (PREDICTED_CAPTION if drew_predicted else ""))
    return figure


def mean_products_figure(snapshots, *, spec=None, labels=None, blocks_shown=DEFAULT_BLOCKS_SHOWN,
                         max_legend=MAX_LEGEND):
    """k-GMM: x^c . mu_a, one panel per class c (diagonal a = c bold); XOR: W_i . mu and
    W_i . nu, one panel each, a line per neuron."""
    jobs = job_ids(snapshots)
    params = _params_by_job(spec, jobs)
    names = _run_labels(params, jobs, labels)
    xor = _is_xor(snapshots, params)
    products = {}
    for column in snapshots.columns:
        if column.startswith("weight_mean_products["):
            c, a = (int(x) for x in column[len("weight_mean_products["):-1].split("]["))
            products[(c, a)] = column
    units = sorted({c for c, _ in products})
    means = sorted({a for _, a in products})
    if blocks_shown is not None:
        units = [c for c in units if c < blocks_shown]
    scale = _time_scale(snapshots, params, jobs)
    if xor:
        figure, axes = new_figure("mean_products", "Weights along the means", "", width=12.0,
                                  height=4.0, ncols=2)
        panels = [(axes[0][a], [(c, a) for c in units], "W_i . %s" % ("mu", "nu")[a],
                   lambda c, a: "W_%d" % c) for a in means[:2]]
    else:
        ncols = min(len(units), 2) or 1
        nrows = max(1, int(math.ceil(len(units) / ncols)))
        figure, axes = new_figure("mean_products", "Weights along the means", "",
                                  width=6.5 * ncols, height=3.6 * nrows, nrows=nrows,
                                  ncols=ncols)
        panels = [(axes[i // ncols][i % ncols], [(c, a) for a in means], "x^%d . mu_a" % c,
                   lambda c, a: "a = %d" % a) for i, c in enumerate(units)]
        for i in range(len(units), nrows * ncols):
            axes[i // ncols][i % ncols].set_visible(False)
    drew_predicted = False
    for ax, pairs, title, text_of in panels:
        handles, texts, fixed = [], [], []
        n = 0
        for job in jobs:
            rows = snapshots[snapshots["job_id"] == job].sort_values("time")
            for c, a in pairs:
                column = products.get((c, a))
                if column is None:
                    continue
                diagonal = not xor and c == a
                kw = series_style(n)
                line, = ax.plot(rows["time"], rows[column], linewidth=2.2 if diagonal else 1.2,
                                markersize=3.5, gid="series", **kw)
                if _draw_predicted(ax, rows, "theory_" + column, kw["color"]) is not None:
                    drew_predicted = True
                    fixed = [_predicted_entry()]
                n += 1
                handles.append(line)
                texts.append(text_of(c, a) + ("" if len(jobs) == 1 else " " + names[job]))
        ax.axhline(0.0, color=BAND_COLOR, linewidth=0.8)
        ax.set_title(title, fontsize="medium", loc="left")
        apply_time_axis(ax, scale)
        fitted_legend(ax, handles, texts, max_legend, outside=False, fixed=fixed)
    figure.suptitle(_headline(params, jobs), fontsize="medium")
    figure.sgdspectra["caption"] = (
        "Projections of the first-layer weights W_i on mu (left) and nu (right), per neuron, "
        "against t: a neuron serves the clusters ±mu or ±nu it aligns with." if xor else
        "Projections x^c . mu_a of each class's parameters on each mean, against t (the class's "
        "own mean a = c drawn thick).") + (PREDICTED_CAPTION if drew_predicted else "")
    return figure


def second_layer_figure(snapshots, *, spec=None, labels=None, max_legend=MAX_LEGEND):
    """XOR: the second-layer weights v_i against t (raises ValueError for a k-GMM job)."""
    jobs = job_ids(snapshots)
    params = _params_by_job(spec, jobs)
    names = _run_labels(params, jobs, labels)
    columns = _indexed_columns(snapshots, "second_layer_weights")
    if not columns:
        raise ValueError("no second-layer weights: not an XOR job")
    figure, axes = new_figure(
        "second_layer", "Second layer", "The second-layer weights v_i of the XOR network against "
        "t: a neuron with v_i > 0 can serve a label-1 cluster (±mu), v_i < 0 a label-0 cluster "
        "(±nu); the optimum needs all four clusters covered (docs/SCIENCE.md Task B).",
        width=7.2, height=4.0)
    ax = axes[0][0]
    handles, texts, fixed = [], [], []
    n = 0
    for job in jobs:
        rows = snapshots[snapshots["job_id"] == job].sort_values("time")
        for i, column in columns.items():
            kw = series_style(n)
            line, = ax.plot(rows["time"], rows[column], linewidth=1.6, markersize=3.5,
                            gid="series", **kw)
            if _draw_predicted(ax, rows, "theory_" + column, kw["color"]) is not None:
                fixed = [_predicted_entry()]
            n += 1
            handles.append(line)
            texts.append("v_%d" % i + ("" if len(jobs) == 1 else " " + names[job]))
    ax.axhline(0.0, color=BAND_COLOR, linewidth=0.8)
    ax.set_ylabel("v_i")
    apply_time_axis(ax, _time_scale(snapshots, params, jobs))
    figure.suptitle(_headline(params, jobs), fontsize="medium")
    ax.set_title("second-layer weights against t", fontsize="medium", loc="left")
    fitted_legend(ax, handles, texts, max_legend, fixed=fixed)
    if fixed:
        figure.sgdspectra["caption"] += PREDICTED_CAPTION
    figure.sgdspectra["series"] = n
    return figure


def means_alignment_figure(snapshots, *, spec=None, labels=None,
                           blocks_shown=DEFAULT_BLOCKS_SHOWN, max_legend=MAX_LEGEND):
    """Per block (class c / neuron i): the alignment |P x| / |x| of its parameters with
    span(means), measured as sqrt(1 - (off_mean_norms / weight_norms)^2) (solid) and, where
    the snapshots carry it, predicted (theory_alignment, dashed), against t."""
    jobs, params, names, xor, unit, off, norms = _block_norms(snapshots, spec, labels)
    blocks = [i for i in off if i in norms and (blocks_shown is None or i < blocks_shown)]
    if not blocks:
        raise ValueError("no off-mean and weight norms to draw")
    figure, axes = new_figure("alignment_means", "Alignment with the means", "", width=7.2,
                              height=4.0)
    ax = axes[0][0]
    handles, texts, fixed = [], [], []
    n = 0
    for job in jobs:
        rows = snapshots[snapshots["job_id"] == job].sort_values("time")
        for i in blocks:
            ratio = rows[off[i]].to_numpy(dtype=float) / rows[norms[i]].to_numpy(dtype=float)
            measured = numpy.sqrt(numpy.clip(1.0 - ratio * ratio, 0.0, None))
            kw = series_style(n)
            line, = ax.plot(rows["time"], measured, linewidth=1.6, markersize=3.5,
                            gid="series", **kw)
            if _draw_predicted(ax, rows, "theory_alignment[%d]" % i, kw["color"]) is not None:
                fixed = [_predicted_entry()]
            n += 1
            handles.append(line)
            texts.append((unit % i) + ("" if len(jobs) == 1 else " " + names[job]))
    ax.set_ylim(-0.02, 1.04)
    ax.set_ylabel("|P x| / |x|, P onto span(means)")
    apply_time_axis(ax, _time_scale(snapshots, params, jobs))
    figure.suptitle(_headline(params, jobs), fontsize="medium")
    ax.set_title("alignment with span(means) against t", fontsize="medium", loc="left")
    fitted_legend(ax, handles, texts, max_legend, fixed=fixed)
    figure.sgdspectra["caption"] = (
        "Per %s: the alignment |P x|/|x| of the parameters with the span of the means, measured "
        "as √(1 - (off-mean norm / norm)²), against t; 1 = inside the span." % (
            "neuron W_i" if xor else "class x^c")
        + (PREDICTED_CAPTION if fixed else ""))
    figure.sgdspectra["series"] = n
    return figure


# ---------------------------------------------------------------------------------------------
# The spectrum at one snapshot


def spectrum_figure(spectra, snapshot_index=None, *, time=None, spec=None, job_id=None):
    """At one snapshot (by index, or the one nearest `time`; default the last) of one job: per
    matrix and block kind a histogram of the top eigenvalues of all its blocks, with each
    block's outlier threshold; at t = 0 the BBP lines for the k-GMM Hessian class blocks."""
    jobs = job_ids(spectra)
    job = job_id if job_id is not None else jobs[0]
    rows = spectra[spectra["job_id"] == job]
    snaps = rows.drop_duplicates("snapshot_index").sort_values("time")
    if snapshot_index is None:
        index = (select_snapshots(snaps["time"], [time])[0] if time is not None
                 else len(snaps) - 1)
        snapshot_index = int(snaps["snapshot_index"].iloc[index])
    rows = rows[rows["snapshot_index"] == snapshot_index]
    if rows.empty:
        raise ValueError("no snapshot %s of job %s" % (snapshot_index, job))
    t = float(rows["time"].iloc[0])
    step = int(rows["step"].iloc[0])
    params = _params_by_job(spec, [job])
    p = params.get(job)
    kinds = sorted({(m, b) for m, b in zip(rows["matrix"], rows["block"])},
                   key=lambda k: (_order(MATRIX_ORDER, k[0]), _order(BLOCK_ORDER, k[1])))
    ncols = 2 if len(kinds) > 1 else 1
    nrows = int(math.ceil(len(kinds) / ncols))
    figure, axes = new_figure("spectrum_t%g" % t, "Spectrum at chosen times", "",
                              width=6.4 * ncols, height=3.3 * nrows, nrows=nrows, ncols=ncols)
    for i in range(len(kinds), nrows * ncols):
        axes[i // ncols][i % ncols].set_visible(False)
    for i, (matrix, block) in enumerate(kinds):
        ax = axes[i // ncols][i % ncols]
        sel = rows[(rows["matrix"] == matrix) & (rows["block"] == block)]
        values = sel["eigenvalue"].to_numpy(dtype=float)
        values = values[numpy.isfinite(values)]
        blocks = per_spectrum(sel)
        thresholds = blocks["outlier_threshold"].to_numpy(dtype=float)
        overlay = theory.bbp_class_block(p) if (t == 0 and matrix == "HESSIAN"
                                                and block == "CLASS_BLOCK") else None
        extra = list(thresholds) + ([overlay.edge] + list(overlay.outliers) if overlay else [])
        everything = numpy.concatenate([values, numpy.asarray(extra, dtype=float)])
        positive = len(everything) > 0 and bool((everything > 0).all())
        lo, hi = (everything.min(), everything.max()) if len(everything) else (0.0, 1.0)
        if positive:
            from matplotlib.ticker import FuncFormatter

            bins = numpy.geomspace(lo, hi if hi > lo else lo * 10, _bins(len(values)) + 1)
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: "%g" % v))
            ax.xaxis.set_minor_formatter(FuncFormatter(
                lambda v, _: "%g" % v if ("%.1g" % v)[0] in "25" else ""))
        else:
            bins = numpy.linspace(lo, hi if hi > lo else lo + 1, _bins(len(values)) + 1)
        color = COLORS[1] if matrix == "G_MATRIX" else COLORS[0]
        ax.hist(values, bins=bins, color=color, alpha=0.8, gid="histogram",
                label="top eigenvalues (%d)" % len(values))
        for n, threshold in enumerate(thresholds):
            ax.axvline(threshold, color=THRESHOLD_COLOR, linestyle="--", linewidth=1.0,
                       gid="threshold", label="outlier threshold%s" % (
                           " (%d blocks)" % len(thresholds) if len(thresholds) > 1 else "")
                       if n == 0 else None)
        if overlay is not None:
            for n, location in enumerate(sorted(set(round(v, 15) for v in overlay.outliers))):
                ax.axvline(location, color=THEORY_COLOR, linestyle=":", linewidth=1.6,
                           gid="overlay-bbp-outlier",
                           label="BBP outlier σ²(1+θ)(1+γ/θ)" if n == 0 else None)
            ax.axvline(overlay.edge, color=THEORY_COLOR, linestyle="-.", linewidth=1.4,
                       gid="overlay-mp-edge", label="MP edge σ²(1+√γ)²")
            record_overlay(figure, "bbp_outliers", overlay.outliers)
            record_overlay(figure, "mp_edge", overlay.edge)
        kind = block_description(block)
        count = len(blocks)
        ax.set_title("%s, %s%s" % (MATRIX_NAMES.get(matrix, matrix), kind,
                                   " (%d blocks)" % count if count > 1 else ""),
                     fontsize="medium")
        ax.set_xlabel("eigenvalue (%s scale)" % ("log" if positive else "linear"))
        ax.set_ylabel("count")
        ax.yaxis.get_major_locator().set_params(integer=True)
        handles, texts = ax.get_legend_handles_labels()
        fitted_legend(ax, handles, texts, outside=False, fontsize="x-small")
    figure.suptitle("%s\ntop eigenvalues at t = %g (snapshot %d, step %d)"
                    % (_headline(params, [job]), t, snapshot_index, step), fontsize="medium")
    figure.sgdspectra["caption"] = (
        "t = %g (snapshot %d, step %d): histograms of the converged top eigenvalues of every "
        "block of each kind; dashed: each block's outlier threshold%s." % (
            t, snapshot_index, step,
            "; dotted / dash-dotted: the BBP outlier location and Marchenko-Pastur edge "
            "predicted for the Hessian class blocks at t = 0"
            if "mp_edge" in figure.sgdspectra["overlays"] else ""))
    figure.sgdspectra["time"] = t
    return figure


def _bins(count):
    return int(min(30, max(8, 2 * math.ceil(math.sqrt(max(count, 1))))))


# ---------------------------------------------------------------------------------------------
# Several runs


def runs_figure(jobs, *, labels=None, max_legend=MAX_LEGEND):
    """Several runs (JobData) on one figure: the mean alignment of the class / neuron blocks
    (Hessian, r = expected), the test accuracy, the test loss and the mean off-mean norm
    relative to t = 0, one line style per run; random-direction stars at t = 0."""
    import pandas

    labels = labels or run_labels(jobs)
    spectra = pandas.concat([j.spectra for j in jobs], ignore_index=True)
    snapshots = pandas.concat([j.snapshots for j in jobs], ignore_index=True)
    params = {j.job_id: _one_params(j) for j in jobs}
    ids = [j.job_id for j in jobs]
    figure, axes = new_figure("runs", "Runs compared", "", width=13.0, height=7.6, nrows=2,
                              ncols=2, sharex=True)
    scale = _time_scale(snapshots, params, ids)
    rows = per_spectrum(spectra[(spectra["matrix"] == "HESSIAN")
                                & spectra["block"].isin(PER_UNIT_BLOCKS)])
    panels = ((axes[0][0], "mean alignment of the class / neuron blocks (H, r = expected)"),
              (axes[0][1], "test accuracy"), (axes[1][0], "test loss"),
              (axes[1][1], "mean off-mean norm relative to t = 0"))
    handles, texts = [], []
    for n, job in enumerate(jobs):
        kw = series_style(n)
        mine = rows[rows["job_id"] == job.job_id]
        if not mine.empty:
            mean = mine.groupby("time")["alignment_at_expected"].mean()
            line, = axes[0][0].plot(mean.index, mean.values, gid="series", markersize=3.5,
                                    linewidth=1.6, **kw)
        snaps = snapshots[snapshots["job_id"] == job.job_id].sort_values("time")
        line, = axes[0][1].plot(snaps["time"], snaps["test_accuracy"], gid="series",
                                markersize=3.5, linewidth=1.6, **kw)
        axes[1][0].plot(snaps["time"], snaps["test_loss"], gid="series", markersize=3.5,
                        linewidth=1.6, **kw)
        off = list(_indexed_columns(snaps, "off_mean_norms").values())
        if off:
            values = snaps[off].to_numpy(dtype=float)
            relative = (values / values[0]).mean(axis=1) if len(values) else values
            axes[1][1].plot(snaps["time"], relative, gid="series", markersize=3.5,
                            linewidth=1.6, **kw)
        handles.append(line)
        texts.append(labels.get(job.job_id, job.job_id))
    fixed = []
    for job in jobs:
        p = params.get(job.job_id)
        mine = rows[rows["job_id"] == job.job_id]
        if p is None or mine.empty or not (mine["time"] == 0).any():
            continue
        block = mine["block"].iloc[0]
        dimension = theory.block_dimension(p, block)
        if dimension is None:
            continue
        value = theory.random_alignment(int(mine["expected_outliers"].iloc[0]), dimension)
        if value in figure.sgdspectra["overlays"].values():
            continue
        axes[0][0].plot([0.0], [value], linestyle="none", marker="*", markersize=12,
                        color=THEORY_COLOR, markerfacecolor="#ffd700", zorder=5,
                        gid="overlay-random-alignment")
        record_overlay(figure, "random_alignment %s" % job.job_id, value)
        if not fixed:
            fixed.append((proxy("", linestyle="none", marker="*", markersize=10,
                                markerfacecolor="#ffd700", color=THEORY_COLOR),
                          "random direction at t = 0: √(r/d)"))
    for ax, title in panels:
        ax.set_title(title, fontsize="medium", loc="left")
        apply_time_axis(ax, scale, label=ax in (axes[1][0], axes[1][1]))
    axes[0][0].set_ylim(-0.02, 1.04)
    axes[0][1].set_ylim(-0.02, 1.04)
    axes[1][1].set_ylim(bottom=0)
    fitted_legend(axes[0][1], handles, texts, max_legend, fixed=fixed)
    figure.suptitle("%d runs" % len(jobs), fontsize="medium")
    figure.sgdspectra["caption"] = (
        "%d runs on one figure: the mean alignment of the class / neuron blocks with the top "
        "eigenspace of their Hessian block (r = expected), the test accuracy, the test loss, and "
        "the mean off-mean norm relative to t = 0; stars: a random direction's alignment at "
        "t = 0." % len(jobs))
    figure.sgdspectra["series"] = len(jobs)
    return figure


def run_labels(jobs):
    """{job_id: label}: the spec fields in which the runs differ ("kgmm.snr=20, seed 1"),
    else the spec names, else the job ids."""
    flat = [_flatten(j.spec) for j in jobs]
    keys = sorted({k for f in flat for k in f} - {"name"})
    differing = [k for k in keys if len({repr(f.get(k)) for f in flat}) > 1]
    labels = {}
    for job, f in zip(jobs, flat):
        if differing:
            text = ", ".join("%s=%s" % (k, _short(f.get(k))) for k in differing[:3])
        else:
            text = job.spec.get("name") or job.job_id
        labels[job.job_id] = text
    if len(set(labels.values())) < len(labels):
        labels = {j: "%s (%s)" % (text, j) for j, text in labels.items()}
    return labels


def _flatten(spec, prefix=""):
    out = {}
    for key, value in (spec or {}).items():
        path = prefix + key
        if isinstance(value, dict):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _short(value):
    if isinstance(value, float) and value.is_integer():
        return "%d" % value
    if isinstance(value, list):
        return "[%s]" % ",".join(_short(v) for v in value)
    return "%s" % value


# ---------------------------------------------------------------------------------------------
# Every figure of one job


def job_figures(job, *, times=None, blocks_shown=DEFAULT_BLOCKS_SHOWN):
    """(figures, notes) of one JobData: every figure above that applies, in report order."""
    figures, notes = [], []
    spectra, snapshots = job.spectra, job.snapshots
    if snapshots.empty and spectra.empty:
        return figures, ["No snapshot yet: nothing to draw."]
    spec = job
    if not spectra.empty:
        all_keys = blocks_of(spectra, None)
        keys = blocks_of(spectra, blocks_shown)
        hidden = {}
        for key in all_keys:
            if key not in keys:
                hidden[(key[0], key[1])] = hidden.get((key[0], key[1]), 0) + 1
        for (matrix, block), count in sorted(hidden.items()):
            notes.append("%s: %d more %s not drawn in the eigenvalue and alignment figures (the "
                         "first %d are; --blocks all draws every one). The spectrum histograms "
                         "include them." % (MATRIX_NAMES.get(matrix, matrix), count,
                                            block_description(block), blocks_shown))
        for key in keys:
            figures.append(eigenvalue_figure(spectra, *key, spec=spec))
        figures.append(alignment_figure(spectra, spec=spec, blocks_shown=blocks_shown))
    if not snapshots.empty:
        figures.append(accuracy_figure(snapshots, spec=spec))
        figures.append(loss_figure(snapshots, spec=spec))
        figures.append(gradient_overlap_figure(snapshots, spec=spec))
        if _indexed_columns(snapshots, "off_mean_norms"):
            figures.append(norms_figure(snapshots, spec=spec, blocks_shown=blocks_shown))
        if any(c.startswith("weight_mean_products[") for c in snapshots.columns):
            figures.append(mean_products_figure(snapshots, spec=spec, blocks_shown=blocks_shown))
        if _indexed_columns(snapshots, "second_layer_weights"):
            figures.append(second_layer_figure(snapshots, spec=spec))
        if has_predictions(snapshots) and _indexed_columns(snapshots, "off_mean_norms"):
            figures.append(means_alignment_figure(snapshots, spec=spec,
                                                  blocks_shown=blocks_shown))
    if not spectra.empty:
        snaps = spectra.drop_duplicates("snapshot_index").sort_values("time")
        names = set()
        for i in select_snapshots(snaps["time"].tolist(), times):
            figure = spectrum_figure(spectra, int(snaps["snapshot_index"].iloc[i]), spec=spec,
                                     job_id=job.job_id)
            if figure.sgdspectra["name"] in names:  # two times that print alike
                figure.sgdspectra["name"] += "_snapshot%d" % int(snaps["snapshot_index"].iloc[i])
            names.add(figure.sgdspectra["name"])
            figures.append(figure)
    density = getattr(job, "density", None)  # analysis.density_probes > 0
    if density is not None and not density.empty:
        from .density import density_figure, density_snapshots

        names = set()
        for index in density_snapshots(density, times):
            figure = density_figure(density, index, spec=spec, job_id=job.job_id,
                                    spectra=getattr(job, "spectra", None))
            if figure.sgdspectra["name"] in names:
                figure.sgdspectra["name"] += "_snapshot%d" % index
            names.add(figure.sgdspectra["name"])
            figures.append(figure)
    return figures, notes
