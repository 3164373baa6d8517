"""Writing figures (SVG, PNG, PDF) and the self-contained HTML report.

- `save_figure(figure, out_dir, formats)`: NAME.svg / NAME.png / NAME.pdf (NAME = the figure's
  record name), each through a temporary file and a rename. Output is reproducible: the SVG
  hash salt is fixed and no date is written, so the same events give the same bytes.
- `render_html(page)`: one HTML file with every figure's SVG inline (ids prefixed with the
  figure's name, so the figures' ids never clash), tables with readable numbers (4 significant
  digits, thousands separators, right-aligned tabular figures, intervals as [low, high]), notes
  and the spec in a <details>; no scripts, no external files.
- `job_page`, `sweep_page`, `runs_page`: the Page of one job, a sweep, several runs.
"""

import dataclasses
import html
import io
import json
import math
import numbers
import os
import re

from matplotlib import rc_context

from . import theory

SVG_RC = {"svg.hashsalt": "sgdspectra", "svg.fonttype": "path"}
PNG_DPI = 150
FORMATS = ("svg", "png", "pdf")

STYLE = """\
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px;color:#222;background:#fff;}
h1{font-size:22px;margin:0 0 12px 0;}
h2{font-size:17px;margin:28px 0 8px 0;border-bottom:1px solid #ccc;}
table{border-collapse:collapse;margin:8px 0 16px 0;font-size:13px;}
caption{text-align:left;font-weight:bold;padding:2px 0 4px 0;}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top;}
th{background:#f2f2f2;}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;}
.figures{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:flex-start;}
figure{margin:0 0 18px 0;max-width:100%;}
figure.half{flex:0 1 calc(50% - 12px);min-width:480px;}
figure svg{display:block;max-width:100%;height:auto;}
figure.half svg{width:100%;}
figcaption{font-size:13px;color:#444;width:0;min-width:100%;}
.note{font-size:13px;color:#7a4b00;}
pre{font-size:12px;background:#f6f6f6;padding:8px;overflow:auto;}
"""


# ---------------------------------------------------------------------------------------------
# Numbers


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def format_number(value):
    """A number as people read it in a table: integers with thousands separators (1,024), other
    values with 4 significant digits (0.1055, 12.35), scientific below 1e-3 or from 1e5
    (1.23e-05); NaN and None as an en dash; booleans yes / no."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return "{:,}".format(int(value))
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return "%.3g" % value
    return "%.4g" % value


def format_cell(value):
    """(text, is_number) of a table cell: numbers formatted by format_number, and so are decimal
    strings (as CSV files give them); integer strings as written; (low, high) tuples as an
    interval; anything else as text."""
    if isinstance(value, tuple) and len(value) == 2 and all(
            isinstance(v, numbers.Real) for v in value):
        return "[%s, %s]" % (format_number(value[0]), format_number(value[1])), True
    if isinstance(value, bool):
        return format_number(value), False
    if isinstance(value, numbers.Real):
        return format_number(value), True
    if hasattr(value, "item") and not isinstance(value, str):
        return format_cell(value.item())
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        text = value.strip()
        if re.match(r"^[+-]?\d+$", text):
            return text, True  # integers given as text (seeds, indexes, counts) stay as written
        return format_number(float(text)), True
    return ("" if value is None else str(value)), False


# ---------------------------------------------------------------------------------------------
# Pages


@dataclasses.dataclass
class Table:
    caption: str
    header: list
    rows: list  # lists of cells (numbers, strings, (low, high) tuples)


@dataclasses.dataclass
class Page:
    title: str
    parameters: list = dataclasses.field(default_factory=list)  # (name, value)
    tables: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    figures: list = dataclasses.field(default_factory=list)  # matplotlib Figures
    details: list = dataclasses.field(default_factory=list)  # (summary, text)


def _table_html(table):
    out = ["<table>"]
    if table.caption:
        out.append("<caption>%s</caption>" % html.escape(table.caption))
    if table.header:
        out.append("<tr>%s</tr>" % "".join("<th>%s</th>" % html.escape(str(h))
                                           for h in table.header))
    for row in table.rows:
        cells = []
        for cell in row:
            text, number = format_cell(cell)
            cells.append("<td%s>%s</td>" % (' class="num"' if number else "", html.escape(text)))
        out.append("<tr>%s</tr>" % "".join(cells))
    out.append("</table>")
    return "\n".join(out) + "\n"


def svg_text(figure, svg_bytes=None):
    """The figure's SVG as an element for inlining in HTML: no XML declaration or DOCTYPE, every
    id prefixed with the figure's name (repeated ids numbered) and every reference to it
    rewritten."""
    if svg_bytes is None:
        svg_bytes = _render(figure, "svg")
    text = svg_bytes.decode("utf-8")
    text = text[text.index("<svg"):]
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", figure.sgdspectra["name"]) + "-"
    seen = {}

    def rename(match):
        old = match.group(1)
        seen[old] = seen.get(old, 0) + 1
        new = prefix + old + ("" if seen[old] == 1 else "-%d" % seen[old])
        return 'id="%s"' % new

    text = re.sub(r'\bid="([^"]+)"', rename, text)
    text = re.sub(r'url\(#([^)]+)\)', lambda m: "url(#%s%s)" % (prefix, m.group(1)), text)
    text = re.sub(r'href="#([^"]+)"', lambda m: 'href="#%s%s"' % (prefix, m.group(1)), text)
    return text


def _render(figure, fmt):
    buffer = io.BytesIO()
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None},
                "png": {}}[fmt]
    with rc_context(SVG_RC):
        figure.savefig(buffer, format=fmt, dpi=PNG_DPI if fmt == "png" else None,
                       metadata=metadata)
    return buffer.getvalue()


def _write_bytes(path, data):
    temporary = "%s.tmp.%d" % (path, os.getpid())
    try:
        with open(temporary, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except OSError:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def save_figure(figure, out_dir, formats=("svg", "png")):
    """Writes the figure as out_dir/NAME.FORMAT for each format; returns {format: path}. The
    SVG bytes are kept on the figure (`figure.sgdspectra["svg"]`) for the report."""
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError("unknown format %r; one of %s" % (fmt, ", ".join(FORMATS)))
        data = _render(figure, fmt)
        if fmt == "svg":
            figure.sgdspectra["svg"] = data
        path = os.path.join(out_dir, "%s.%s" % (figure.sgdspectra["name"], fmt))
        _write_bytes(path, data)
        written[fmt] = path
    return written


def render_html(page):
    """The page as one self-contained HTML document (see the module docstring)."""
    out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>%s</title>'
           '\n<style>\n%s</style>\n</head>\n<body>\n' % (html.escape(page.title), STYLE),
           "<h1>%s</h1>\n" % html.escape(page.title)]
    if page.parameters:
        out.append('<table class="parameters">\n')
        for name, value in page.parameters:
            text, number = format_cell(value)
            out.append("<tr><th>%s</th><td%s>%s</td></tr>\n" % (
                html.escape(str(name)), ' class="num"' if number else "", html.escape(text)))
        out.append("</table>\n")
    for table in page.tables:
        out.append(_table_html(table))
    for note in page.notes:
        out.append('<p class="note">%s</p>\n' % html.escape(note))
    for summary, text in page.details:
        out.append("<details><summary>%s</summary>\n<pre>%s</pre>\n</details>\n"
                   % (html.escape(summary), html.escape(text)))
    sections = list(dict.fromkeys(f.sgdspectra["section"] for f in page.figures))
    for section in sections:
        out.append('<h2>%s</h2>\n<div class="figures">\n' % html.escape(section))
        for figure in page.figures:
            if figure.sgdspectra["section"] != section:
                continue
            record = figure.sgdspectra
            # Figures up to 8 inches wide go two to a row.
            half = ' class="half"' if figure.get_figwidth() <= 8 else ""
            out.append('<figure id="%s"%s>\n%s\n<figcaption>%s: %s</figcaption>\n</figure>\n' % (
                html.escape(record["name"]), half, svg_text(figure, record.get("svg")),
                html.escape(record["name"]), html.escape(record["caption"])))
        out.append("</div>\n")
    out.append("</body>\n</html>\n")
    return "".join(out)


def write_page(page, out_dir, formats=("svg", "png"), report=True):
    """Saves every figure of the page and report.html into out_dir; returns the paths written
    (report.html last)."""
    paths = []
    for figure in page.figures:
        paths.extend(save_figure(figure, out_dir, formats).values())
    if report:
        path = os.path.join(out_dir, "report.html")
        _write_bytes(path, render_html(page).encode("utf-8"))
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------
# The pages


def _get(d, *path, default=None):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def job_parameters(job):
    """Name / value rows of one job: task, seed, SGD, schedule, analysis, final state, rank."""
    from .job import _one_params, task_description

    rows = [("job", job.job_id or "?")]
    p = _one_params(job)
    accepted = job.accepted
    if accepted:
        spec = job.spec
        if spec.get("name"):
            rows.append(("name", spec["name"]))
        if p is not None:
            rows.append(("task", task_description(p)))
        rows.append(("seed", str(spec.get("seed") or 0)))
        steps = int(accepted.get("steps_total") or 0)
        step_size = float(accepted.get("step_size") or 0)
        rows.append(("SGD", "%s steps of size %s (t from 0 to %s)" % (
            format_number(steps), format_number(step_size), format_number(steps * step_size))))
        schedule = spec.get("schedule") or {}
        kind = schedule.get("kind", "LOG_SPACED_TIME")
        rows.append(("snapshots", "%d scheduled (%s), %d received" % (
            len(accepted.get("snapshot_steps") or []), kind,
            job.snapshots["snapshot_index"].nunique() if len(job.snapshots) else 0)))
        rows.append(("test sample", "M_test = %s" % format_number(
            int(accepted.get("test_sample_size") or 0))))
        analysis = spec.get("analysis") or {}
        rows.append(("analysis", "bulk edge: %s, outlier margin %s, solve target %s" % (
            analysis.get("outlier_method", "NULL_MODEL"),
            format_number(float(analysis.get("outlier_margin", 0.05))),
            analysis.get("solve_target", "OUTLIERS"))))
        if p is not None and p.task == "xor":
            rows.append(("second layer", "decoy null, margin %s, %s decoy draws" % (
                format_number(p.second_layer_margin),
                _get(spec, "xor_task", "decoy_draws", default=4))))
        if accepted.get("build_version"):
            rows.append(("server build", accepted["build_version"]))
    else:
        rows.append(("note", "no Accepted event: the job's parameters are unknown"))
    finished = job.finished
    if not finished:
        rows.append(("state", "not finished (no Finished event yet)"))
        return rows
    state = finished.get("state", "?")
    if finished.get("reason") and finished["reason"] != "FINISH_REASON_UNSPECIFIED":
        state += " (%s)" % finished["reason"]
    if finished.get("error_message"):
        state += ": " + finished["error_message"]
    rows.append(("state", state))
    rows.append(("final", "step %s, t %s, test accuracy %s, test loss %s" % (
        format_number(int(finished.get("steps_done") or 0)),
        format_number(float(finished.get("time_done") or 0)),
        format_number(float(finished.get("final_test_accuracy") or 0)),
        format_number(float(finished.get("final_test_loss") or 0)))))
    rank = finished.get("rank")
    if rank:
        rows.append(("classifier rank", "%d (expected %d, rank-deficient: %s), weight rank %d" % (
            int(rank.get("outlier_rank") or 0), int(rank.get("expected_rank") or 0),
            "yes" if rank.get("rank_deficient") else "no", int(rank.get("weight_rank") or 0))))
        if rank.get("covered_clusters"):
            names = ("+mu", "-mu", "+nu", "-nu")
            covered = [n for n, c in zip(names, rank["covered_clusters"]) if int(c)]
            rows.append(("covered clusters", "%s (%d of 4)" % (" ".join(covered) or "none",
                                                              len(covered))))
    return rows


def predictions_table(job):
    """Theory against measurement at t = 0, from the job's own spec (theory.py)."""
    from .job import MATRIX_SHORT, _one_params, block_description, per_spectrum

    p = _one_params(job)
    if p is None or job.spectra.empty:
        return None
    rows = []
    zero = per_spectrum(job.spectra[job.spectra["time"] == 0])
    for (matrix, block), part in zero.groupby(["matrix", "block"], sort=False):
        dimension = theory.block_dimension(p, block)
        if dimension is None:
            continue
        r = int(part["expected_outliers"].iloc[0])
        measured = math.sqrt(float((part["alignment_at_expected"] ** 2).mean()))
        rows.append(["alignment at t = 0, %s %s" % (MATRIX_SHORT.get(matrix, matrix),
                                                     block_description(block)),
                     "√(r/D) = √(%d/%d), random direction" % (min(r, dimension), dimension),
                     "REPRODUCTION.md K2", theory.random_alignment(r, dimension),
                     theory.random_alignment_interval(r, dimension), measured])
    bbp = theory.bbp_class_block(p)
    h = zero[(zero["matrix"] == "HESSIAN") & (zero["block"] == "CLASS_BLOCK")]
    if bbp is not None and not h.empty:
        values = job.spectra[(job.spectra["time"] == 0) & (job.spectra["matrix"] == "HESSIAN")
                             & (job.spectra["block"] == "CLASS_BLOCK")]
        top = values[values["eig_index"] < len(bbp.thetas)]["eigenvalue"]
        rows.append(["H class blocks: spike θ vs threshold √γ",
                     "θ = λ eig(P^½ G P^½) > √(d/M)", "SCIENCE.md (BBP)",
                     "θ = %s, √γ = %s" % (format_number(bbp.thetas[0]),
                                          format_number(bbp.threshold_theta)), "",
                     "%d-%d outliers of %d" % (h["outlier_count"].min(), h["outlier_count"].max(),
                                               int(h["expected_outliers"].iloc[0]))])
        if bbp.outliers:
            rows.append(["H class blocks: outlier eigenvalues at t = 0",
                         "σ²(1+θ)(1+γ/θ), σ² = (k-1)/(k²λ)", "SCIENCE.md (BBP)",
                         bbp.outliers[0] if len(set(bbp.outliers)) == 1 else
                         ", ".join(format_number(v) for v in bbp.outliers), "",
                         float(top.mean()) if len(top) else math.nan])
        rows.append(["H class blocks: bulk edge at t = 0", "σ²(1+√γ)² (Marchenko-Pastur)",
                     "SCIENCE.md, REPRODUCTION.md K3", bbp.edge, "",
                     float(h["bulk_edge"].mean())])
        rows.append(["H class blocks: overlap with span(means) at t = 0",
                     "(1 - γ/θ²)/(1 + γ/θ)", "REPRODUCTION.md K3", bbp.overlap_with_means, "",
                     float(h["overlap_with_means"].mean())])
    if not rows:
        return None
    return Table("Theory at t = 0 from this job's spec (sgdspectra/plot/theory.py) against the "
                 "measured values (alignment: root mean square over the blocks; others: mean)",
                 ["quantity", "formula", "source", "predicted", "5-95 % range", "measured"], rows)


def snapshots_table(job):
    from .job import BLOCK_SHORT, MATRIX_SHORT, per_spectrum

    if job.snapshots.empty:
        return None
    counts = {}
    if not job.spectra.empty:
        spectra = per_spectrum(job.spectra)
        for (index, matrix, block), part in spectra.groupby(
                ["snapshot_index", "matrix", "block"], sort=False):
            low, high = part["outlier_count"].min(), part["outlier_count"].max()
            counts.setdefault(index, []).append("%s %s %s/%d" % (
                MATRIX_SHORT.get(matrix, matrix), BLOCK_SHORT.get(block, block),
                "%d" % low if low == high else "%d-%d" % (low, high),
                int(part["expected_outliers"].max())))
    rows = []
    for _, s in job.snapshots.sort_values("time").iterrows():
        index = int(s["snapshot_index"])
        rows.append([index, int(s["step"]), float(s["time"]), float(s["test_accuracy"]),
                     float(s["test_loss"]),
                     float(s["train_accuracy"]) if s.get("train_window", 1) else None,
                     float(s["gradient_overlap"]), ", ".join(counts.get(index, []))])
    return Table("Snapshots (outliers: found/expected, min-max over the blocks of a kind)",
                 ["snapshot", "step", "t", "test accuracy", "test loss", "train accuracy",
                  "gradient overlap", "outliers"], rows)


def job_page(job, figures, notes=()):
    from .job import _one_params, task_description

    p = _one_params(job)
    title = "sgdspectra job %s" % (job.job_id or "?")
    if p is not None:
        title += ": " + task_description(p)
    page = Page(title=title, parameters=job_parameters(job), notes=list(notes),
                figures=list(figures))
    if job.source:
        page.parameters.append(("source", job.source))
    for table in (predictions_table(job), snapshots_table(job)):
        if table is not None:
            page.tables.append(table)
    if job.spec:
        page.details.append(("resolved spec (proto3 JSON)",
                             json.dumps(job.spec, indent=2, sort_keys=False)))
    return page


def sweep_page(data, figures, notes=()):
    from .sweep import group_statistics

    summary = data.summary
    page = Page(title="sgdspectra sweep %s" % data.folder, notes=list(notes),
                figures=list(figures))
    page.parameters += [("folder", data.folder), ("jobs", len(summary)),
                        ("groups", summary["group"].nunique()),
                        ("swept fields", ", ".join(data.fields) or "seeds only"),
                        ("seeds", str(data.definition.get("seeds", "?"))),
                        ("success", "final test accuracy > %s" % format_number(
                            float(data.definition.get("success_accuracy", 0.99))))]
    params = theory.task_params(data.base_spec) if data.base_spec else None
    prediction = theory.xor_success_prediction(params)
    header = ["group", "jobs", "finished", "successes", "success fraction",
              "95 % Wilson interval", "mean final accuracy", "rank-deficient fraction"]
    if prediction is not None:
        header.append("predicted (SCIENCE.md X1)")
    rows = []
    for s in group_statistics(summary):
        row = [s["group"], s["jobs"], s["finished"], s["successes"], s["success_fraction"],
               (s["ci_low"], s["ci_high"]), s["mean_accuracy"], s["rank_deficient_fraction"]]
        if prediction is not None:
            row.append("3/32 = %s" % format_number(prediction))
        rows.append(row)
    page.tables.append(Table("Per group (success fraction over the jobs that reached their end; "
                             "as aggregates.csv)", header, rows))
    finished = summary[summary["finished"]]
    if not finished.empty:
        joint = []
        for group in dict.fromkeys(finished["group"]):
            part = finished[finished["group"] == group]
            for rank in sorted(set(part["outlier_rank"].astype(int))):
                at = part[part["outlier_rank"] == rank]
                joint.append([group, rank, int(at["success"].sum()),
                              int((~at["success"]).sum())])
        page.tables.append(Table("Final outlier rank x success (as outlier_success.csv)",
                                 ["group", "outlier rank", "success", "no success"], joint))
    columns = [c for c in ["sweep_index", "group", "seed", "job_id", "state", "reason",
                           "final_test_accuracy", "final_test_loss", "outlier_rank",
                           "expected_rank", "covered_clusters", "success"] if c in summary]
    lines = [" | ".join(columns)]
    for _, row in summary.iterrows():
        lines.append(" | ".join(format_cell(row[c])[0] if not isinstance(row[c], bool)
                                else ("yes" if row[c] else "no") for c in columns))
    page.details.append(("every job (%d, from summary.csv)" % len(summary), "\n".join(lines)))
    if data.definition:
        page.details.append(("sweep.json", json.dumps(data.definition, indent=2)))
    return page


def runs_page(jobs, figures, labels, notes=()):
    from .job import _one_params, task_description

    page = Page(title="sgdspectra: %d runs compared" % len(jobs), notes=list(notes),
                figures=list(figures))
    rows = []
    for job in jobs:
        p = _one_params(job)
        finished = job.finished or {}
        rows.append([labels.get(job.job_id, job.job_id), job.job_id,
                     task_description(p) if p else "?", str(job.spec.get("seed") or 0),
                     finished.get("state", "not finished"),
                     float(finished["final_test_accuracy"])
                     if "final_test_accuracy" in finished else None, job.source])
    page.tables.append(Table("Runs", ["label", "job", "task", "seed", "state",
                                      "final test accuracy", "source"], rows))
    return page
