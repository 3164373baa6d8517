"""sgdspectra.plot: figures and HTML reports of sgdspectra jobs and sweeps (matplotlib).

Command line (writes SVG / PNG / PDF files and one self-contained report.html):

    python -m sgdspectra.plot run.events.jsonl --out figs             # one job's events file
    python -m sgdspectra.plot SWEEP_FOLDER --out figs --format svg,pdf  # a `sgdspectra sweep`
    python -m sgdspectra.plot JOB_ID --server 127.0.0.1:50051           # a job on a server
    python -m sgdspectra.plot a.jsonl b.jsonl --out figs                # several runs compared

Notebooks: every figure is a function taking frames (sgdspectra.frames: spectra_frame,
snapshots_frame, sweep_frame) and returning a matplotlib Figure:

    from sgdspectra import plot
    job = plot.load_job("run.events.jsonl")            # frames + the resolved spec
    plot.eigenvalue_figure(job.spectra, "HESSIAN", "CLASS_BLOCK", 0, spec=job)
    plot.alignment_figure(job.spectra, spec=job)
    plot.accuracy_figure(job.snapshots)
    sweep = plot.load_sweep_data("x1")                 # summary frame + every job's frames
    plot.success_fraction_figure(sweep.summary, spec=sweep.base_spec)
    plot.alignment_bands_figure(sweep.spectra, sweep.summary, spec=sweep.base_spec)

Theory overlays (sgdspectra.plot.theory documents each formula and its source): the alignment
sqrt(r/D) of a random direction at t = 0, the BBP outlier location, threshold and eigenvector
overlap and the Marchenko-Pastur edge of the k-GMM Hessian class blocks at t = 0, and 3/32 for
the XOR success fraction; each from the job's own resolved spec. With analysis.theory the
snapshots carry the effective-dynamics prediction, drawn dashed beside the measured accuracy,
loss, norms, mean products, second-layer weights and alignment with span(means)
(means_alignment_figure). With analysis.density_probes, density_figure draws each block's
estimated spectral density (Gaussian-broadened SLQ nodes, spikes marked) and, for the k-GMM
Hessian class block at t = 0, the Marchenko-Pastur density of its bulk.

Attributes load lazily, so `import sgdspectra` does not import matplotlib or pandas.
"""

import importlib

_EXPORTS = {
    "job": ("eigenvalue_figure", "alignment_figure", "accuracy_figure", "loss_figure",
            "gradient_overlap_figure", "norms_figure", "mean_products_figure",
            "second_layer_figure", "spectrum_figure", "runs_figure", "run_labels",
            "job_figures", "select_snapshots", "blocks_of", "means_alignment_figure",
            "has_predictions"),
    "density": ("density_figure", "broadened_density"),
    "sweep": ("sweep_rank_figure", "sweep_accuracy_figure", "success_fraction_figure",
              "alignment_bands_figure", "bands_figure", "sweep_figures", "load_sweep_data",
              "group_statistics", "SweepData"),
    "report": ("job_page", "sweep_page", "runs_page", "render_html", "save_figure",
               "write_page", "Page", "Table"),
    "_data": ("load_job", "JobData", "EventsError", "spectra_frame", "snapshots_frame",
              "density_frame", "sweep_frame"),
    "style": ("series_style", "time_scale", "TimeScale", "fitted_legend"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE) + ["theory"]


def __getattr__(name):
    if name == "theory":
        return importlib.import_module(".theory", __name__)
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
