"""The figures of a `sgdspectra sweep` folder.

  sweep_rank_figure        per group: jobs at each final outlier rank (the last layer's
                           classifier rank), successes beside failures
  sweep_accuracy_figure    per group: histogram of the final test accuracy (bins of 0.05),
                           successes stacked under failures
  success_fraction_figure  success fraction per group against a swept field, with its 95 %
                           Wilson interval (theory.py, 4.); for XOR with K = 4 the 3/32 line and
                           the finite-size range 0.09-0.15 (theory.py, 3.)
  bands_figure             a spectrum quantity against t over the seeds: the median and the
                           interquartile range per group (or per outcome)
  alignment_bands_figure   bands_figure of the class / neuron blocks' mean alignment, with the
                           random-direction value at t = 0 (theory.py, 1.)

`summary` is sweep_frame(folder) (one row per job; `group`, `success`, `outlier_rank`,
`final_test_accuracy` and the swept fields by proto path); `spectra` a spectra frame over the
sweep's jobs with `sweep_index` (Sweep.spectra_frame()); `spec` the sweep's base spec (a dict),
for the theory overlays.
"""

import dataclasses
import math

import numpy

from . import theory
from ._data import normalize
from .job import PER_UNIT_BLOCKS, block_description, per_spectrum
from .style import (BAND_COLOR, FAILURE_COLOR, MAX_LEGEND, SUCCESS_COLOR, THEORY_COLOR,
                    apply_time_axis, fitted_legend, new_figure, proxy, proxy_patch,
                    record_overlay, series_style, time_scale)

ACCURACY_BINS = 20


@dataclasses.dataclass
class SweepData:
    """A sweep folder for the figures: `summary` (sweep_frame with a `finished` column: the job
    reached its end and has a final rank), `fields` (swept proto paths), `definition`
    (sweep.json), `base_spec` (its base spec, a plain dict) and, when loaded, `spectra` and
    `snapshots` over every job (with sweep_index, group, seed and the swept fields)."""

    folder: str
    summary: object
    fields: list
    definition: dict
    base_spec: dict
    spectra: object = None
    snapshots: object = None
    accepted: dict = None  # sweep_index -> the job's resolved spec (plain dict)


def load_sweep_data(folder, events=True):
    """A SweepData of a sweep folder; with events=False only summary.csv and sweep.json are
    read (no per-job frames)."""
    from .. import frames
    from ._data import _conform

    if events:
        sweep = frames.load_sweep(folder)
        summary, definition, fields = sweep.summary, sweep.definition, list(sweep.fields)
    else:
        summary = frames.sweep_frame(folder)
        definition = read_definition(folder)
        fields = [axis["field"] for axis in definition.get("set", []) if "field" in axis]
    summary = summary.copy()
    summary["group"] = summary["group"].fillna("all").astype(str)
    summary["finished"] = summary["outlier_rank"].notna()
    data = SweepData(folder=str(folder), summary=summary, fields=fields, definition=definition,
                     base_spec=normalize(definition.get("base_spec") or {}))
    if events:
        data.spectra = _conform(sweep.spectra_frame())
        data.snapshots = _conform(sweep.snapshots_frame())
        data.accepted = {}
        for index, items in sweep.items():
            for event in items:
                if event.accepted is not None:
                    data.accepted[index] = normalize(event.accepted).get("resolved_spec", {})
    return data


def read_definition(folder):
    """sweep.json of a sweep folder as a dict ({} when missing)."""
    import json
    import os

    path = os.path.join(str(folder), "sweep.json")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def groups_of(summary):
    return list(dict.fromkeys(summary["group"]))


def group_statistics(summary):
    """Per group (in order of appearance): jobs, finished, successes, success fraction over the
    finished jobs, its Wilson 95 % interval, mean final accuracy and rank-deficient fraction
    (the statistics of aggregates.csv, computed from the summary)."""
    out = []
    for group in groups_of(summary):
        rows = summary[summary["group"] == group]
        finished = rows[rows["finished"]]
        successes = int(finished["success"].sum())
        n = len(finished)
        low, high = theory.wilson_interval(successes, n)
        deficient = finished["rank_deficient"] if "rank_deficient" in finished else None
        out.append({
            "group": group, "jobs": len(rows), "finished": n, "successes": successes,
            "success_fraction": successes / n if n else math.nan, "ci_low": low, "ci_high": high,
            "mean_accuracy": float(finished["final_test_accuracy"].mean()) if n else math.nan,
            "rank_deficient_fraction": (float(deficient.astype(float).mean())
                                        if deficient is not None and n else math.nan)})
    return out


def _grid(count, max_columns=3):
    columns = min(count, max_columns) or 1
    return int(math.ceil(count / columns)), columns


def _folder_name(folder):
    import os

    name = os.path.basename(os.path.normpath(str(folder)))
    return name or str(folder)


def sweep_rank_figure(summary, folder=""):
    """Per group: the number of jobs at each final outlier rank, successes (green) beside the
    others (red)."""
    groups = groups_of(summary)
    nrows, ncols = _grid(len(groups))
    figure, axes = new_figure(
        "sweep_rank", "Outcomes",
        "Per group: jobs at each final outlier rank (the last layer's classifier rank), "
        "successes (green) beside the others (red).",
        width=4.6 * ncols, height=3.4 * nrows, nrows=nrows, ncols=ncols)
    width = 0.38
    for g, group in enumerate(groups):
        ax = axes[g // ncols][g % ncols]
        rows = summary[summary["group"] == group]
        finished = rows[rows["finished"]]
        ranks = finished["outlier_rank"].astype(int)
        values = sorted(set(ranks)) or [0]
        for offset, (success, color, label) in enumerate(
                ((True, SUCCESS_COLOR, "success"), (False, FAILURE_COLOR, "no success"))):
            counts = [int(((ranks == r) & (finished["success"] == success)).sum())
                      for r in values]
            ax.bar([r + (offset - 0.5) * width for r in values], counts, width=width,
                   color=color, label=label, gid="bars-" + ("success" if success else "failure"))
        ax.set_xticks(values)
        ax.set_xlabel("final outlier rank (classifier rank)")
        ax.set_ylabel("jobs")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title("group %s\n%d finished of %d jobs" % (group, len(finished), len(rows)),
                     fontsize="medium", loc="left")
        ax.legend(fontsize="small")
    for i in range(len(groups), nrows * ncols):
        axes[i // ncols][i % ncols].set_visible(False)
    figure.suptitle("sweep %s: final outlier rank" % _folder_name(folder), fontsize="medium")
    return figure


def sweep_accuracy_figure(summary, folder=""):
    """Per group: histogram of the final test accuracy in bins of 0.05, successes stacked
    under the others."""
    groups = groups_of(summary)
    nrows, ncols = _grid(len(groups))
    figure, axes = new_figure(
        "sweep_accuracy", "Outcomes",
        "Per group: histogram of the final test accuracy (bins of 0.05); successes (green) "
        "stacked under the others (red).",
        width=4.6 * ncols, height=3.4 * nrows, nrows=nrows, ncols=ncols)
    edges = numpy.linspace(0.0, 1.0, ACCURACY_BINS + 1)
    for g, group in enumerate(groups):
        ax = axes[g // ncols][g % ncols]
        rows = summary[summary["group"] == group]
        done = rows[rows["final_test_accuracy"].notna()]
        accuracy = done["final_test_accuracy"].clip(0.0, 1.0).to_numpy(dtype=float)
        success = done["success"].to_numpy(dtype=bool)
        ok, _ = numpy.histogram(accuracy[success], bins=edges)
        bad, _ = numpy.histogram(accuracy[~success], bins=edges)
        centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        ax.bar(centres, ok, width=width, color=SUCCESS_COLOR, label="success",
               gid="bars-success")
        ax.bar(centres, bad, width=width, bottom=ok, color=FAILURE_COLOR, label="no success",
               gid="bars-failure")
        ax.set_xlim(0, 1)
        ax.set_xlabel("final test accuracy")
        ax.set_ylabel("jobs")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title("group %s\n%d finished of %d jobs" % (group, len(done), len(rows)),
                     fontsize="medium", loc="left")
        ax.legend(fontsize="small", loc="upper left")
    for i in range(len(groups), nrows * ncols):
        axes[i // ncols][i % ncols].set_visible(False)
    figure.suptitle("sweep %s: final test accuracy" % _folder_name(folder), fontsize="medium")
    return figure


def success_fraction_figure(summary, parameter=None, *, fields=None, spec=None, folder=""):
    """Success fraction (over the jobs that reached their end) per group with its Wilson 95 %
    interval, against `parameter` (a swept field; default the first one with several values;
    none: one point per group). For XOR with K = 4: the 3/32 line (theory.py, 3.)."""
    fields = list(fields or [f for f in summary.columns if "." in f])
    if parameter is None:
        varying = [f for f in fields if f in summary and summary[f].nunique() > 1]
        parameter = varying[0] if varying else None
    statistics = group_statistics(summary)
    by_group = summary.drop_duplicates("group").set_index("group")
    others = [f for f in fields if f != parameter and f in summary and summary[f].nunique() > 1]
    figure, axes = new_figure("sweep_success", "Outcomes", "", width=7.6, height=4.3)
    ax = axes[0][0]
    series = {}
    for s in statistics:
        key = tuple(by_group.loc[s["group"], f] for f in others)
        x = by_group.loc[s["group"], parameter] if parameter else s["group"]
        series.setdefault(key, []).append((x, s))
    numeric = parameter is not None and all(
        isinstance(x, (int, float, numpy.integer, numpy.floating))
        for points in series.values() for x, _ in points)
    categories = list(dict.fromkeys(x for points in series.values() for x, _ in points))
    handles, texts = [], []
    for n, (key, points) in enumerate(series.items()):
        points.sort(key=lambda p: p[0] if numeric else categories.index(p[0]))
        xs = [float(x) if numeric else categories.index(x) for x, _ in points]
        ys = [s["success_fraction"] for _, s in points]
        # (Rounding can put the interval's end a hair inside the fraction at 0 or 1.)
        low = [max(0.0, y - s["ci_low"]) for y, (_, s) in zip(ys, points)]
        high = [max(0.0, s["ci_high"] - y) for y, (_, s) in zip(ys, points)]
        style = series_style(n)
        container = ax.errorbar(xs, ys, yerr=[low, high], capsize=4, linewidth=1.5,
                                markersize=6, gid="series", **style)
        handles.append(container)
        texts.append(", ".join("%s=%s" % (f, v) for f, v in zip(others, key))
                     or "success fraction")
        for x, y, (_, s) in zip(xs, ys, points):
            ax.annotate("%d/%d" % (s["successes"], s["finished"]), (x, y),
                        textcoords="offset points", xytext=(6, 4), fontsize="x-small")
    fixed = [(proxy("", linestyle="-", marker="|", markersize=10), "95 % Wilson interval")]
    params = theory.task_params(spec) if spec else None
    prediction = theory.xor_success_prediction(params)
    if parameter == "xor_task.hidden" and params is not None and params.task == "xor":
        prediction = theory.XOR_SUCCESS_FRACTION
    if prediction is not None:
        low, high = theory.XOR_FINITE_SIZE_RANGE
        ax.axhspan(low, high, color=BAND_COLOR, alpha=0.2, linewidth=0, gid="overlay-range")
        ax.axhline(prediction, color=THEORY_COLOR, linestyle="--", linewidth=1.2,
                   gid="overlay-xor-success")
        record_overlay(figure, "xor_success_fraction", prediction)
        record_overlay(figure, "xor_finite_size_range", (low, high))
        fixed += [(proxy("", color=THEORY_COLOR, linestyle="--"),
                   "3/32 = %.4f (SCIENCE.md X1, K = 4)" % prediction),
                  (proxy_patch("finite-size runs 0.09-0.15", alpha=0.2),
                   "finite-size runs: 0.09-0.15")]
    if numeric:
        values = sorted({float(x) for points in series.values() for x, _ in points})
        if len(values) > 2 and values[0] > 0 and values[-1] / values[0] >= 20:
            ax.set_xscale("log")
        ax.set_xlabel(parameter)
    else:
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels([str(c) for c in categories], rotation=20 if len(categories) > 3
                           else 0, fontsize="small")
        ax.set_xlabel(parameter or "group")
        ax.set_xlim(-0.6, len(categories) - 0.4)
    ax.set_ylim(-0.02, 1.04)
    ax.set_ylabel("success fraction (final test accuracy > threshold)")
    ax.set_title("success fraction%s" % (" against " + parameter if parameter else ""),
                 fontsize="medium", loc="left")
    fitted_legend(ax, handles, texts, MAX_LEGEND, fixed=fixed)
    figure.suptitle("sweep %s" % _folder_name(folder), fontsize="medium")
    figure.sgdspectra["caption"] = (
        "Per group: the fraction of the jobs that reached their end with a final test accuracy "
        "above the sweep's success threshold, with its 95 %% Wilson score interval "
        "(successes/finished beside each point)%s." % (
            "; dashed: 3/32, the fraction of Gaussian initialisations that reach the optimum "
            "with lambda large (docs/SCIENCE.md Task B, X1: K = 4), shaded: the finite-size "
            "range 0.09-0.15" if prediction is not None else ""))
    figure.sgdspectra["statistics"] = statistics
    return figure


def bands_figure(spectra, summary, value="alignment_at_expected", *, matrix="HESSIAN",
                 block=None, split="group", spec=None, name=None, ylabel=None, title=None,
                 caption=None, ylim=None, max_legend=MAX_LEGEND):
    """`value` of the spectra (per job the mean over the blocks of one kind) against t: for each
    group (split="group") or outcome (split="success") the median over the jobs and the
    interquartile range, shaded. Returns the figure; its `bands` entry holds the numbers."""
    rows = per_spectrum(spectra[spectra["matrix"] == matrix])
    if block is None:
        kinds = [b for b in PER_UNIT_BLOCKS if (rows["block"] == b).any()]
        block = kinds[0] if kinds else rows["block"].iloc[0]
    rows = rows[rows["block"] == block]
    # Jobs are matched to the summary by sweep_index (Sweep.spectra_frame()), else by job_id.
    key_column = ("sweep_index" if "sweep_index" in rows and "sweep_index" in summary
                  else "job_id")
    per_job = rows.groupby([key_column, "time"], as_index=False)[value].mean()
    info = summary.drop_duplicates(key_column).set_index(key_column)
    per_job["group"] = per_job[key_column].map(info["group"])
    per_job["outcome"] = per_job[key_column].map(info["success"]).map(
        {True: "success", False: "no success"})
    key = "group" if split == "group" else "outcome"
    figure, axes = new_figure(name or "sweep_bands_%s" % value, "Over the seeds", caption or "",
                              width=7.6, height=4.3)
    ax = axes[0][0]
    handles, texts, bands = [], [], {}
    for n, (label, part) in enumerate(per_job.groupby(key, sort=False)):
        stats = part.groupby("time")[value].quantile([0.25, 0.5, 0.75]).unstack()
        jobs = part[key_column].nunique()
        t = stats.index.to_numpy(dtype=float)
        style = series_style(n)
        ax.fill_between(t, stats[0.25], stats[0.75], color=style["color"], alpha=0.22,
                        linewidth=0, gid="band")
        line, = ax.plot(t, stats[0.5], linewidth=1.8, markersize=3.5, gid="series", **style)
        handles.append(line)
        texts.append("%s (%d jobs)" % (label, jobs))
        bands[label] = stats
    fixed = [(proxy_patch("interquartile range", color="#1f77b4", alpha=0.22),
              "interquartile range over the jobs")]
    params = theory.task_params(spec) if spec else None
    dimension = theory.block_dimension(params, block)
    if value.startswith("alignment") and dimension is not None and (per_job["time"] == 0).any():
        r = int(rows["expected_outliers"].iloc[0])
        mean = theory.random_alignment(r, dimension)
        low, high = theory.random_alignment_interval(r, dimension)
        ax.errorbar([0.0], [mean], yerr=[[mean - low], [high - mean]], fmt="*", markersize=11,
                    color=THEORY_COLOR, markerfacecolor="#ffd700", capsize=3, zorder=5,
                    gid="overlay-random-alignment")
        record_overlay(figure, "random_alignment %s %s" % (matrix, block), mean)
        fixed.append((proxy("", linestyle="none", marker="*", markersize=10,
                            markerfacecolor="#ffd700", color=THEORY_COLOR),
                      "random direction, t = 0: √(%d/%d) = %.3f" % (r, dimension, mean)))
    scale = time_scale(per_job["time"], [params] if params else None)
    apply_time_axis(ax, scale)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel or value)
    ax.set_title(title or "%s, %s: median over the jobs" % (
        {"HESSIAN": "Hessian", "G_MATRIX": "G-matrix"}.get(matrix, matrix),
        block_description(block)), fontsize="medium", loc="left")
    fitted_legend(ax, handles, texts, max_legend, fixed=fixed)
    figure.sgdspectra["bands"] = bands
    figure.sgdspectra["series"] = len(handles)
    return figure


def alignment_bands_figure(spectra, summary, *, matrix="HESSIAN", block=None, split="group",
                           spec=None, max_legend=MAX_LEGEND):
    """The mean alignment of the class / neuron blocks with their top eigenspace (r =
    expected) over the seeds: median and interquartile range per group against t."""
    figure = bands_figure(
        spectra, summary, "alignment_at_expected", matrix=matrix, block=block, split=split,
        spec=spec, name="sweep_alignment_bands",
        ylabel="|U_r^T x| / |x|, r = expected (mean over blocks)", ylim=(-0.02, 1.04),
        max_legend=max_legend)
    figure.sgdspectra["caption"] = (
        "Alignment of each job's class / neuron blocks with the top eigenspace of their %s "
        "block (r = expected outliers, mean over the blocks of a job) against t: the median over "
        "the jobs of each %s (line) and the interquartile range (shaded); star: a random "
        "direction's alignment √(r/D) at t = 0 with its 5-95 %% range."
        % ({"HESSIAN": "Hessian", "G_MATRIX": "G-matrix"}.get(matrix, matrix),
           "group" if split == "group" else "outcome"))
    return figure


def sweep_figures(data):
    """(figures, notes) of a SweepData, in report order."""
    figures, notes = [], []
    summary = data.summary
    if summary.empty:
        return figures, ["The sweep has no jobs yet."]
    figures.append(success_fraction_figure(summary, fields=data.fields, spec=data.base_spec,
                                           folder=data.folder))
    figures.append(sweep_rank_figure(summary, data.folder))
    figures.append(sweep_accuracy_figure(summary, data.folder))
    if data.spectra is not None and not data.spectra.empty:
        figures.append(alignment_bands_figure(data.spectra, summary, spec=data.base_spec))
        if (data.spectra["block"] == "SECOND_LAYER").any():
            figure = bands_figure(
                data.spectra, summary, "outlier_count", block="SECOND_LAYER", split="success",
                spec=data.base_spec, name="sweep_second_layer_outliers",
                ylabel="second-layer H outliers", title="Hessian, second layer: outlier count, "
                "median over the jobs by outcome",
                caption="XOR second layer: the Hessian's outlier count against t, median and "
                "interquartile range over the jobs that succeeded and those that did not "
                "(docs/SCIENCE.md X2: none at t = 0, then 4 for every successful run, at most 3 "
                "otherwise).")
            figure.axes[0].yaxis.get_major_locator().set_params(integer=True)
            figures.append(figure)
    elif data.spectra is None:
        notes.append("Events not loaded: no figures over t.")
    else:
        notes.append("No job has an events file with snapshots: no figures over t.")
    return figures, notes
