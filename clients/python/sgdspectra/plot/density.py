"""The estimated whole spectrum of a block at one snapshot (analysis.density_probes > 0).

`density_figure` draws the stochastic Lanczos quadrature of the density frame
(sgdspectra.frames.density_frame: nodes and weights, all of a spectrum's weights summing to 1)
as a smooth curve: each node broadened by a Gaussian of standard deviation h (the bandwidth),

    p_h(x) = sum_i w_i exp(-(x - v_i)^2 / (2 h^2)) / (sqrt(2 pi) h),

with h = `bandwidth_fraction` (default 2 %) of the range of the block's bulk nodes (the nodes
that are not spikes; all nodes when fewer than two are), so p_h integrates to 1 like the
weights. An isolated eigenvalue (an outlier) shows up in each probe as a node of weight about
1 / (n probes), n the block's dimension; nodes of weight <= `spike_factor` / (n probes) are
marked as spikes (triangles on the axis) where the spec gives n. For a k-GMM Hessian class block
at t = 0 the Marchenko-Pastur law of its bulk is drawn beside it (theory.py, 2b.: variance
s2 = (k-1)/(k^2 lambda), ratio gamma = d / M, M = Accepted.test_sample_size; an atom of mass
1 - 1/gamma at 0 when gamma > 1).
"""

import math

import numpy

from . import theory
from .style import COLORS, THEORY_COLOR, fitted_legend, new_figure, record_overlay

DEFAULT_BANDWIDTH_FRACTION = 0.02
DEFAULT_SPIKE_FACTOR = 2.0
GRID_POINTS = 800


def broadened_density(x, values, weights, bandwidth):
    """p_h(x) = sum_i w_i N(x; v_i, h^2): the nodes broadened by a Gaussian of width h."""
    x = numpy.asarray(x, dtype=float)[:, None]
    values = numpy.asarray(values, dtype=float)[None, :]
    weights = numpy.asarray(weights, dtype=float)[None, :]
    kernel = numpy.exp(-0.5 * ((x - values) / bandwidth) ** 2) / (math.sqrt(2 * math.pi)
                                                                   * bandwidth)
    return (kernel * weights).sum(axis=1)


def probe_count(nodes):
    """The number of probes of one spectrum's density rows: one probe's weights sum to
    1/probes (the G-matrix's extra zero-eigenvalue node carries its own weight; probe 0 is a
    real probe)."""
    first = nodes.loc[nodes["probe"] == 0, "node_weight"].sum()
    return max(1, int(round(1.0 / first))) if first > 0 else max(1, nodes["probe"].nunique())


def spike_mask(nodes, dimension, spike_factor=DEFAULT_SPIKE_FACTOR, bulk_edge=None):
    """Nodes of weight <= spike_factor / (n probes): isolated eigenvalues; with the block's
    bulk edge (> 0) only those above it (Lanczos also puts light nodes at the bulk's own edge).
    All False when the block's dimension n is unknown (None)."""
    weights = nodes["node_weight"].to_numpy(dtype=float)
    if not dimension:
        return numpy.zeros(len(weights), dtype=bool)
    mask = weights <= spike_factor / (dimension * probe_count(nodes))
    if bulk_edge is not None and bulk_edge > 0:
        mask &= nodes["node_value"].to_numpy(dtype=float) > bulk_edge
    return mask


def bulk_edge_of(spectra, snapshot_index, matrix, block, block_index, job_id=None):
    """The block's reported bulk edge at the snapshot (spectra frame), or None."""
    if spectra is None or spectra.empty:
        return None
    rows = spectra[(spectra["snapshot_index"] == snapshot_index) & (spectra["matrix"] == matrix)
                   & (spectra["block"] == block) & (spectra["block_index"] == block_index)]
    if job_id is not None:
        rows = rows[rows["job_id"] == job_id]
    return float(rows["bulk_edge"].iloc[0]) if len(rows) else None


def bandwidth_of(values, spikes, fraction=DEFAULT_BANDWIDTH_FRACTION):
    """h = fraction x the range of the bulk nodes (all nodes when fewer than two bulk nodes
    differ; 1 when every node is at the same value)."""
    bulk = values[~spikes]
    span = float(bulk.max() - bulk.min()) if len(bulk) > 1 else 0.0
    if not span > 0:
        span = float(values.max() - values.min()) if len(values) else 0.0
    if not span > 0:
        span = abs(float(values[0])) if len(values) and values[0] != 0 else 1.0
    return fraction * span


def default_density_blocks(density):
    """H class block 0 and the full H when present, else the first block of the frame."""
    keys = [(m, b, int(i)) for m, b, i in density[["matrix", "block", "block_index"]]
            .drop_duplicates().itertuples(index=False)]
    wanted = [k for k in keys if k[:2] == ("HESSIAN", "CLASS_BLOCK") and k[2] == 0]
    wanted += [k for k in keys if k[:2] == ("HESSIAN", "FULL")][:1]
    return wanted or keys[:1]


def density_snapshots(density, times=None):
    """The snapshot indices to draw: nearest each wanted time, default the first and last."""
    from .job import select_snapshots

    snaps = density.drop_duplicates("snapshot_index").sort_values("time")
    if times:
        chosen = select_snapshots(snaps["time"].tolist(), times)
    else:
        chosen = sorted({0, len(snaps) - 1}) if len(snaps) else []
    return [int(snaps["snapshot_index"].iloc[i]) for i in chosen]


def density_figure(density, snapshot_index=None, *, blocks=None, spec=None, job_id=None,
                   spectra=None, bandwidth_fraction=DEFAULT_BANDWIDTH_FRACTION,
                   spike_factor=DEFAULT_SPIKE_FACTOR):
    """One snapshot (default the last) of one job: per block (default: H class block 0 and the
    full H) the SLQ density broadened by a Gaussian, its spikes, and at t = 0 for the k-GMM
    Hessian class blocks the Marchenko-Pastur density (module docstring). `density` is the
    density frame; `spec` as for the job figures (a JobData gives the test sample size);
    `spectra` (the spectra frame, optional) gives each block's bulk edge, above which alone
    light nodes are marked as spikes.
    The figure's record has "bandwidths" {block label: h}."""
    from .job import (MATRIX_NAMES, _headline, _params_by_job, block_description,
                      block_label, job_ids)

    if density is None or density.empty:
        raise ValueError("no density rows: the job did not ask for analysis.density_probes")
    job = job_id if job_id is not None else job_ids(density)[0]
    rows = density[density["job_id"] == job]
    if snapshot_index is None:
        snapshot_index = int(rows.sort_values("time")["snapshot_index"].iloc[-1])
    rows = rows[rows["snapshot_index"] == snapshot_index]
    if rows.empty:
        raise ValueError("no density at snapshot %s of job %s" % (snapshot_index, job))
    blocks = blocks or default_density_blocks(rows)
    t = float(rows["time"].iloc[0])
    step = int(rows["step"].iloc[0])
    params = _params_by_job(spec, [job])
    p = params.get(job)
    figure, axes = new_figure("density_t%g" % t, "Spectral density", "",
                              width=6.4 * len(blocks), height=3.8, ncols=len(blocks))
    figure.sgdspectra["bandwidths"] = {}
    notes = []
    for ax, (matrix, block, index) in zip(axes[0], blocks):
        nodes = rows[(rows["matrix"] == matrix) & (rows["block"] == block)
                     & (rows["block_index"] == index)]
        label = block_label(matrix, block, index)
        if nodes.empty:
            ax.set_visible(False)
            continue
        values = nodes["node_value"].to_numpy(dtype=float)
        weights = nodes["node_weight"].to_numpy(dtype=float)
        dimension = theory.block_dimension(p, block)
        edge = bulk_edge_of(spectra, snapshot_index, matrix, block, index, job)
        spikes = spike_mask(nodes, dimension, spike_factor, edge)
        h = bandwidth_of(values, spikes, bandwidth_fraction)
        figure.sgdspectra["bandwidths"][label] = h
        mp = (theory.bbp_class_block(p) if t == 0 and (matrix, block) == ("HESSIAN",
                                                                          "CLASS_BLOCK")
              else None)
        lo, hi = float(values.min()) - 4 * h, float(values.max()) + 4 * h
        if mp is not None:
            a, b = theory.marchenko_pastur_support(mp.sigma2, mp.gamma)
            lo, hi = min(lo, a), max(hi, b)
        x = numpy.linspace(lo, hi, GRID_POINTS)
        color = COLORS[1] if matrix == "G_MATRIX" else COLORS[0]
        curve = broadened_density(x, values, weights, h)
        ax.plot(x, curve, color=color, linewidth=1.6, gid="density",
                label="SLQ density, Gaussian h = %.3g" % h)
        if spikes.any():
            ax.plot(values[spikes], numpy.zeros(int(spikes.sum())), linestyle="none",
                    marker="^", markersize=7, color=THEORY_COLOR, markerfacecolor=color,
                    clip_on=False, zorder=5, gid="density-spikes",
                    label="spikes: nodes of weight <= %g/(n probes)" % spike_factor)
        if mp is not None:
            xm = numpy.linspace(*theory.marchenko_pastur_support(mp.sigma2, mp.gamma),
                                GRID_POINTS)
            ax.plot(xm, theory.marchenko_pastur_density(xm, mp.sigma2, mp.gamma),
                    color=THEORY_COLOR, linestyle="-.", linewidth=1.4, gid="overlay-mp-density",
                    label="Marchenko-Pastur, σ² = %.3g, γ = %.3g" % (mp.sigma2, mp.gamma))
            atom = theory.marchenko_pastur_atom(mp.gamma)
            record_overlay(figure, "mp_sigma2", mp.sigma2)
            record_overlay(figure, "mp_gamma", mp.gamma)
            if atom > 0:
                ax.plot([0.0], [0.0], linestyle="none", marker="*", markersize=12,
                        color=THEORY_COLOR, clip_on=False, zorder=5, gid="overlay-mp-atom",
                        label="MP atom at 0: mass 1 - 1/γ = %.3g" % atom)
                record_overlay(figure, "mp_atom", atom)
        if not dimension:
            notes.append("%s: dimension unknown (no spec), spikes not marked" % label)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density")
        ax.set_title("%s, %s" % (MATRIX_NAMES.get(matrix, matrix),
                                 block_description(block, index if block in ("CLASS_BLOCK",
                                                                             "NEURON")
                                                   else None)),
                     fontsize="medium", loc="left")
        handles, texts = ax.get_legend_handles_labels()
        fitted_legend(ax, handles, texts, outside=False, fontsize="x-small")
    figure.suptitle("%s\nspectral density at t = %g (snapshot %d, step %d)"
                    % (_headline(params, [job]), t, snapshot_index, step), fontsize="medium")
    figure.sgdspectra["caption"] = (
        "t = %g (snapshot %d, step %d): the stochastic Lanczos quadrature of each block's "
        "spectrum (docs/SCIENCE.md, the whole spectrum), every node broadened by a Gaussian of "
        "width h = %g %% of the range of the bulk nodes (h per panel in the legend); triangles: "
        "nodes of weight at most %g/(n probes)%s, isolated eigenvalues such as the outliers%s.%s"
        % (t, snapshot_index, step, 100 * bandwidth_fraction, spike_factor,
           " above the block's reported bulk edge" if spectra is not None else "",
           "; " + "; ".join(notes) if notes else "",
           " Dash-dotted: the Marchenko-Pastur density of the Hessian class block's bulk at "
           "t = 0, variance σ² = (k-1)/(k² λ) and ratio γ = d/M (plot/theory.py, 2b.); the "
           "outliers carry about k/d of the block's mass." if "mp_sigma2" in
           figure.sgdspectra["overlays"] else ""))
    figure.sgdspectra["time"] = t
    return figure
