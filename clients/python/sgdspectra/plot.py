"""Plots a job's spectra against t from snapshot_rows: one column per matrix (Hessian, G);
top row the top eigenvalues of each block with its bulk edge (dashed), bottom row the alignment
of the block's parameters with its top eigenvectors.

Uses matplotlib's object API with the Agg canvas: no pyplot, no global backend change, no display
needed.
"""

import math

_MATRIX_ORDER = ("HESSIAN", "G_MATRIX")
_BLOCK_ORDER = ("CLASS_BLOCK", "NEURON", "FIRST_LAYER", "SECOND_LAYER", "FULL")
_BLOCK_LABELS = {"CLASS_BLOCK": "class {}", "NEURON": "neuron {}", "FIRST_LAYER": "first layer",
                 "SECOND_LAYER": "second layer", "FULL": "full"}
_MATRIX_TITLES = {"HESSIAN": "Hessian", "G_MATRIX": "G-matrix"}
_MAX_LEGEND_BLOCKS = 12


def _block_key(row):
    block = row["block"]
    order = _BLOCK_ORDER.index(block) if block in _BLOCK_ORDER else len(_BLOCK_ORDER)
    return (order, block, row["block_index"])


def _block_label(block, block_index):
    return _BLOCK_LABELS.get(block, block.lower()).format(block_index)


def plot_snapshots(rows, path=None, *, blocks=None, title=None):
    """A matplotlib Figure of the rows (from one job), saved to `path` when given (the format
    follows the extension: .png, .svg, .pdf). `blocks` restricts the plot to block kinds, e.g.
    ("CLASS_BLOCK",)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [r for r in rows if blocks is None or r["block"] in blocks]
    if not rows:
        raise ValueError("plot_snapshots: no rows to plot")
    job_ids = {r["job_id"] for r in rows}
    if len(job_ids) > 1:
        raise ValueError("plot_snapshots: rows of %d jobs; filter them to one job" % len(job_ids))

    matrices = [m for m in _MATRIX_ORDER if any(r["matrix"] == m for r in rows)]
    matrices += sorted({r["matrix"] for r in rows} - set(matrices))
    figure = Figure(figsize=(5.5 * len(matrices), 7.5), constrained_layout=True)
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, len(matrices), sharex=True, squeeze=False)
    colors = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]

    for column, matrix in enumerate(matrices):
        eig_axis, align_axis = axes[0][column], axes[1][column]
        by_block = {}
        for row in rows:
            if row["matrix"] == matrix:
                by_block.setdefault(_block_key(row), []).append(row)
        all_positive = True
        for n, (key, block_rows) in enumerate(sorted(by_block.items())):
            block_rows.sort(key=lambda r: r["time"])
            color = colors[n % len(colors)]
            label = _block_label(key[1], key[2]) if len(by_block) <= _MAX_LEGEND_BLOCKS else None
            t = [r["time"] for r in block_rows]
            rank = max(len(r["top_eigenvalues"]) for r in block_rows)
            for j in range(rank):
                values = [r["top_eigenvalues"][j] if j < len(r["top_eigenvalues"]) else math.nan
                          for r in block_rows]
                all_positive &= all(v > 0 for v in values if not math.isnan(v))
                # The expected outliers bold, the rest of the top-r thin.
                expected = block_rows[-1]["expected_outliers"]
                eig_axis.plot(t, values, color=color, linewidth=1.6 if j < expected else 0.6,
                              alpha=1.0 if j < expected else 0.45, label=label if j == 0 else None)
            edges = [r["bulk_edge"] for r in block_rows]
            all_positive &= all(e > 0 for e in edges)
            eig_axis.plot(t, edges, color=color, linestyle="--", linewidth=1.0)
            align_axis.plot(t, [r["alignment_at_expected"] for r in block_rows], color=color,
                            marker=".", label=label)
            align_axis.plot(t, [r["alignment_at_outliers"] for r in block_rows], color=color,
                            linestyle=":", linewidth=1.0)
        if all_positive:
            eig_axis.set_yscale("log")
        eig_axis.set_title("%s: top eigenvalues (dashed: bulk edge)"
                           % _MATRIX_TITLES.get(matrix, matrix))
        eig_axis.set_ylabel("eigenvalue")
        align_axis.set_title("alignment with the top eigenvectors\n"
                             "(solid: r = expected outliers, dotted: r = outliers found)")
        align_axis.set_ylabel("|U_r^T x| / |x|")
        align_axis.set_ylim(-0.02, 1.02)
        align_axis.set_xlabel("t")
        if len(by_block) <= _MAX_LEGEND_BLOCKS:
            eig_axis.legend(fontsize="small")
    job_id = next(iter(job_ids))
    if title or job_id:
        figure.suptitle(title or "job %s" % job_id)
    if path is not None:
        figure.savefig(path)
    return figure
