#!/usr/bin/env python3
"""Tests of sgdspectra.plot on real events (CTest python_plot_figures, label `clients`).

A child sgdspectra-server and the CLI make small k-GMM and XOR jobs and two sweep folders
(plot_fixtures.py); every figure is then checked for content, not only existence: the t axis
(symlog with linthresh = t_first for a log-spaced schedule, linear for EVERY_STEPS), one line
per series carrying exactly the frame's numbers, legends of at most N entries, distinct styles
beyond ten series, each theory overlay equal to its formula evaluated independently here from
the job's Accepted event (and, as a science check, near the measured values), the Wilson
intervals equal to aggregates.csv's, bar and histogram counts equal to the summary's, bands
equal to a recomputation from the raw JSON lines; and the command line: SVG / PNG / PDF files
that parse, report.html, exit codes, a job by id equal to its events file byte for byte.

Usage: /usr/bin/python3 clients/python/tests/test_plot.py --server-binary S --cli-binary C
       [unittest args]   (SGDSPECTRA_KEEP_TEST_FILES=1 keeps the temporary folder)
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

import numpy

import plot_fixtures
import support

sgdspectra = support.use_checkout()

from sgdspectra import plot  # noqa: E402
from sgdspectra.plot import style, theory  # noqa: E402

FIXTURES = None
ARGS = None


def setUpModule():
    global FIXTURES
    FIXTURES = plot_fixtures.make(ARGS.server_binary, ARGS.cli_binary)


def raw_events(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def accepted_of(path):
    return next(e["accepted"] for e in raw_events(path) if "accepted" in e)


def series_lines(ax, gid="series"):
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def legend_entries(ax):
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


class JobFigureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kgmm = plot.load_job(FIXTURES.kgmm_log)
        cls.every = plot.load_job(FIXTURES.kgmm_every)
        cls.xor = plot.load_job(FIXTURES.xor)

    def test_log_schedule_gives_a_symlog_t_axis_with_linthresh_t_first(self):
        accepted = accepted_of(FIXTURES.kgmm_log)
        self.assertEqual(accepted["resolvedSpec"]["schedule"]["kind"], "LOG_SPACED_TIME")
        t_first = accepted["resolvedSpec"]["schedule"]["tFirst"]
        for figure in (plot.eigenvalue_figure(self.kgmm.spectra, spec=self.kgmm),
                       plot.accuracy_figure(self.kgmm.snapshots, spec=self.kgmm),
                       plot.alignment_figure(self.kgmm.spectra, spec=self.kgmm)):
            for ax in figure.axes:
                self.assertEqual(ax.get_xscale(), "symlog", figure.sgdspectra["name"])
                self.assertEqual(ax.xaxis.get_transform().linthresh, t_first)
                left, right = ax.get_xlim()
                self.assertLess(left, 0.0)  # t = 0, a snapshot, is inside the axis
                self.assertGreaterEqual(right, 8.0)
        # Without a spec the times decide: log-spaced times also give symlog.
        scale = style.time_scale(self.kgmm.snapshots["time"])
        self.assertEqual((scale.kind, scale.linthresh), ("symlog", t_first))

    def test_every_steps_schedule_gives_a_linear_t_axis(self):
        figure = plot.eigenvalue_figure(self.every.spectra, spec=self.every)
        self.assertEqual(figure.axes[0].get_xscale(), "linear")
        self.assertEqual(style.time_scale(self.every.snapshots["time"]).kind, "linear")

    def test_one_line_per_eigenvalue_carrying_the_frame_values(self):
        for job in (self.kgmm, self.xor):
            spectra = job.spectra
            for matrix, block, index in plot.blocks_of(spectra, None):
                figure = plot.eigenvalue_figure(spectra, matrix, block, index, spec=job)
                rows = spectra[(spectra["matrix"] == matrix) & (spectra["block"] == block)
                               & (spectra["block_index"] == index)]
                lines = series_lines(figure.axes[0])
                self.assertEqual(len(lines), rows["eig_index"].nunique(),
                                 figure.sgdspectra["name"])
                for j, line in enumerate(lines):
                    expected = rows[rows["eig_index"] == j].sort_values("time")
                    x, y = line.get_xdata(), line.get_ydata()
                    finite = numpy.isfinite(y)
                    self.assertEqual(list(x[finite]), list(expected["time"]))
                    self.assertEqual(list(y[finite]), list(expected["eigenvalue"]))
                threshold = [l for l in figure.axes[0].get_lines() if l.get_gid() == "threshold"]
                self.assertEqual(len(threshold), 1)
                per = rows.drop_duplicates("snapshot_index").sort_values("time")
                self.assertEqual(list(threshold[0].get_ydata()), list(per["outlier_threshold"]))

    def test_legends_have_at_most_their_limit_of_entries(self):
        figures = plot.job_figures(self.xor, blocks_shown=None, times=[0])[0] + \
            plot.job_figures(self.every, blocks_shown=None, times=[0])[0]
        for figure in figures:
            limit = style.MAX_LEGEND + (3 if figure.sgdspectra["name"] == "alignment" else 0)
            for ax in figure.axes:
                self.assertLessEqual(len(legend_entries(ax)), limit, figure.sgdspectra["name"])
        # The full k-GMM Hessian has 16 eigenvalue series: the legend names the 6 expected
        # outliers' first ones and groups the rest.
        figure = plot.eigenvalue_figure(self.every.spectra, "HESSIAN", "FULL", spec=self.every)
        entries = legend_entries(figure.axes[0])
        self.assertLessEqual(len(entries), style.MAX_LEGEND)
        self.assertTrue(any("..." in e for e in entries), entries)

    def test_fitted_legend_groups_what_does_not_fit(self):
        figure, axes = style.new_figure("t", "s", "c")
        lines = [axes[0][0].plot([0, 1], [i, i], **style.series_style(i))[0] for i in range(30)]
        legend = style.fitted_legend(axes[0][0], lines, ["s%d" % i for i in range(30)], 6,
                                     fixed=[(style.proxy(""), "overlay")])
        texts = [t.get_text() for t in legend.get_texts()]
        self.assertEqual(texts, ["s0", "s1", "s2", "s3", "+ 26 more (s4 ... s29)", "overlay"])

    def test_styles_are_distinct_beyond_ten_series(self):
        styles = [tuple(sorted(style.series_style(i).items())) for i in range(280)]
        self.assertEqual(len(set(styles)), 280)
        figure = plot.eigenvalue_figure(self.every.spectra, "HESSIAN", "FULL", spec=self.every)
        lines = series_lines(figure.axes[0])
        self.assertEqual(len(lines), 16)  # TOP_R: 2 k (k - 1) + 4
        drawn = {(l.get_color(), l.get_linestyle(), l.get_marker()) for l in lines}
        self.assertEqual(len(drawn), len(lines))

    def test_bbp_overlay_is_the_formula_of_the_jobs_spec(self):
        accepted = accepted_of(FIXTURES.kgmm_log)
        kgmm = accepted["resolvedSpec"]["kgmm"]
        d, k, lam = int(kgmm["dim"]), kgmm["numClasses"], kgmm["snr"]
        m = int(accepted["testSampleSize"])
        sigma2 = (k - 1) / (k * k) / lam  # w / lambda, w = pi(1 - pi) at pi = 1/k
        gamma = d / m
        theta = lam / k  # orthonormal means, uniform classes
        self.assertGreater(theta, math.sqrt(gamma))
        outlier = sigma2 * (1 + theta) * (1 + gamma / theta)
        edge = sigma2 * (1 + math.sqrt(gamma)) ** 2
        overlap = (1 - gamma / theta ** 2) / (1 + gamma / theta)
        figure = plot.eigenvalue_figure(self.kgmm.spectra, "HESSIAN", "CLASS_BLOCK", 0,
                                        spec=self.kgmm)
        overlays = figure.sgdspectra["overlays"]
        for value in overlays["bbp_outliers"]:
            self.assertAlmostEqual(value, outlier, places=14)
        self.assertAlmostEqual(overlays["mp_edge"], edge, places=14)
        star = [l for l in figure.axes[0].get_lines() if l.get_gid() == "overlay-bbp-outlier"]
        self.assertEqual(list(star[0].get_xdata()), [0.0])
        self.assertAlmostEqual(star[0].get_ydata()[0], outlier, places=14)
        bar = [l for l in figure.axes[0].get_lines() if l.get_gid() == "overlay-mp-edge"]
        self.assertAlmostEqual(bar[0].get_ydata()[0], edge, places=14)
        alignment = plot.alignment_figure(self.kgmm.spectra, spec=self.kgmm)
        self.assertAlmostEqual(alignment.sgdspectra["overlays"]["bbp_overlap"], overlap,
                               places=14)
        # Not on G, nor away from the class blocks.
        g = plot.eigenvalue_figure(self.kgmm.spectra, "G_MATRIX", "CLASS_BLOCK", 0,
                                   spec=self.kgmm)
        self.assertNotIn("mp_edge", g.sgdspectra["overlays"])
        # Science: the measured t = 0 values are near the prediction (d = 40: finite size).
        spectra = self.kgmm.spectra
        zero = spectra[(spectra["time"] == 0) & (spectra["matrix"] == "HESSIAN")
                       & (spectra["block"] == "CLASS_BLOCK")]
        top = zero[zero["eig_index"] < k]["eigenvalue"].mean()
        per = zero.drop_duplicates("block_index")
        self.assertLess(abs(top / outlier - 1), 0.15, (top, outlier))
        self.assertLess(abs(per["bulk_edge"].mean() / edge - 1), 0.15, (per["bulk_edge"], edge))
        self.assertLess(abs(per["overlap_with_means"].mean() - overlap), 0.03)

    def test_random_alignment_overlay_is_sqrt_r_over_d_and_its_range_is_right(self):
        d_kgmm = int(accepted_of(FIXTURES.kgmm_log)["resolvedSpec"]["kgmm"]["dim"])
        figure = plot.alignment_figure(self.kgmm.spectra, spec=self.kgmm)
        overlays = figure.sgdspectra["overlays"]
        self.assertAlmostEqual(overlays["random_alignment HESSIAN CLASS_BLOCK"],
                               math.sqrt(3 / d_kgmm), places=14)
        self.assertAlmostEqual(overlays["random_alignment HESSIAN FULL"],
                               math.sqrt(6 / (3 * d_kgmm)), places=14)  # k(k-1) of kd
        xor_spec = accepted_of(FIXTURES.xor)["resolvedSpec"]["xorTask"]
        d_xor, hidden = int(xor_spec["dim"]), xor_spec["hidden"]
        overlays = plot.alignment_figure(self.xor.spectra, spec=self.xor).sgdspectra["overlays"]
        self.assertAlmostEqual(overlays["random_alignment HESSIAN NEURON"],
                               math.sqrt(2 / d_xor), places=14)
        self.assertAlmostEqual(overlays["random_alignment HESSIAN FIRST_LAYER"],
                               math.sqrt(4 / (hidden * d_xor)), places=14)
        self.assertNotIn("random_alignment HESSIAN FULL", overlays)  # (W, v) is not isotropic
        # The 5-95 % range against random directions drawn here.
        rng = numpy.random.default_rng(7)
        x = rng.standard_normal((20000, d_kgmm))
        align = numpy.linalg.norm(x[:, :3], axis=1) / numpy.linalg.norm(x, axis=1)
        low, high = theory.random_alignment_interval(3, d_kgmm)
        self.assertAlmostEqual(low, numpy.quantile(align, 0.05), delta=0.006)
        self.assertAlmostEqual(high, numpy.quantile(align, 0.95), delta=0.006)
        self.assertAlmostEqual(math.sqrt(numpy.mean(align ** 2)), math.sqrt(3 / d_kgmm),
                               delta=0.003)

    def test_metric_figures_draw_the_snapshot_values(self):
        raw = [e["snapshot"] for e in raw_events(FIXTURES.xor) if "snapshot" in e]
        times = [s.get("time", 0) for s in raw]
        figure = plot.accuracy_figure(self.xor.snapshots, spec=self.xor)
        test, train = series_lines(figure.axes[0])
        self.assertEqual(list(test.get_xdata()), times)
        self.assertEqual(list(test.get_ydata()), [s.get("testAccuracy", 0) for s in raw])
        # The train window at t = 0 holds no SGD sample: no point there.
        windowed = [s for s in raw if int(s.get("trainWindow", 0)) > 0]
        self.assertEqual(list(train.get_ydata()), [s["trainAccuracy"] for s in windowed])
        loss = plot.loss_figure(self.xor.snapshots, spec=self.xor)
        self.assertEqual(list(series_lines(loss.axes[0])[0].get_ydata()),
                         [s["testLoss"] for s in raw])
        overlap = plot.gradient_overlap_figure(self.xor.snapshots, spec=self.xor)
        self.assertEqual(list(series_lines(overlap.axes[0])[0].get_ydata()),
                         [s.get("gradientOverlap", 0) for s in raw])
        second = plot.second_layer_figure(self.xor.snapshots, spec=self.xor)
        lines = series_lines(second.axes[0])
        self.assertEqual(len(lines), 4)
        for i, line in enumerate(lines):
            self.assertEqual(list(line.get_ydata()), [s["secondLayerWeights"][i] for s in raw])
        with self.assertRaises(ValueError):
            plot.second_layer_figure(self.kgmm.snapshots)
        norms = plot.norms_figure(self.xor.snapshots, spec=self.xor)
        relative = series_lines(norms.axes[2])
        self.assertEqual(len(relative), 4)
        for i, line in enumerate(relative):
            expected = [s["offMeanNorms"][i] / raw[0]["offMeanNorms"][i] for s in raw]
            numpy.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-15)
        products = plot.mean_products_figure(self.kgmm.snapshots, spec=self.kgmm)
        self.assertEqual(len(series_lines(products.axes[0])), 3)  # x^0 . mu_a, a = 0, 1, 2

    def test_spectrum_histograms_count_every_eigenvalue_and_mark_each_threshold(self):
        raw = [e["snapshot"] for e in raw_events(FIXTURES.kgmm_log) if "snapshot" in e][0]
        figure = plot.spectrum_figure(self.kgmm.spectra, 0, spec=self.kgmm)
        self.assertEqual(figure.sgdspectra["name"], "spectrum_t0")
        panels = [ax for ax in figure.axes if ax.get_visible()]
        kinds = list(dict.fromkeys((s["matrix"], s["block"]) for s in raw["spectra"]))
        self.assertEqual(len(panels), len(kinds))
        for ax, (matrix, block) in zip(panels, sorted(
                kinds, key=lambda k: (k[0] != "HESSIAN", k[1] != "CLASS_BLOCK"))):
            spectra = [s for s in raw["spectra"] if s["matrix"] == matrix and s["block"] == block]
            heights = sum(p.get_height() for p in ax.patches)
            self.assertEqual(heights, sum(len(s["topEigenvalues"]) for s in spectra))
            thresholds = sorted(l.get_xdata()[0] for l in ax.get_lines()
                                if l.get_gid() == "threshold")
            self.assertEqual(thresholds, sorted(s["outlierThreshold"] for s in spectra))
        self.assertIn("mp_edge", figure.sgdspectra["overlays"])  # H class blocks at t = 0

    def test_several_runs_on_one_figure(self):
        jobs = [self.kgmm, self.every]
        figure = plot.runs_figure(jobs)
        for ax in figure.axes:
            self.assertEqual(len(series_lines(ax)), 2)
        self.assertEqual(len(legend_entries(figure.axes[1])), 3)  # 2 runs + the theory star
        import pandas

        snapshots = pandas.concat([j.snapshots for j in jobs])
        accuracy = plot.accuracy_figure(snapshots, spec={j.job_id: j for j in jobs})
        self.assertEqual(len(series_lines(accuracy.axes[0])), 4)  # test and train, per run


class SweepFigureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.xor = plot.load_sweep_data(FIXTURES.xor_sweep)
        cls.kgmm = plot.load_sweep_data(FIXTURES.kgmm_sweep)

    def aggregates(self, folder):
        import csv

        with open(os.path.join(folder, "aggregates.csv")) as f:
            return {row["group"]: row for row in csv.DictReader(f)}

    def test_xor_success_fraction_has_the_3_over_32_line_and_the_sweeps_wilson_interval(self):
        figure = plot.success_fraction_figure(self.xor.summary, fields=self.xor.fields,
                                              spec=self.xor.base_spec)
        self.assertEqual(figure.sgdspectra["overlays"]["xor_success_fraction"], 3 / 32)
        line = [l for l in figure.axes[0].get_lines() if l.get_gid() == "overlay-xor-success"]
        self.assertEqual(list(line[0].get_ydata()), [3 / 32, 3 / 32])
        aggregates = self.aggregates(FIXTURES.xor_sweep)
        for s in figure.sgdspectra["statistics"]:
            row = aggregates[s["group"]]
            self.assertEqual(s["successes"], int(row["successes"]))
            self.assertEqual(s["finished"], int(row["finished"]))
            self.assertAlmostEqual(s["ci_low"], float(row["ci_low"]), places=12)
            self.assertAlmostEqual(s["ci_high"], float(row["ci_high"]), places=12)
        # k-GMM: no 3/32; the fraction against the swept lambda, one point per value.
        figure = plot.success_fraction_figure(self.kgmm.summary, fields=self.kgmm.fields,
                                              spec=self.kgmm.base_spec)
        self.assertNotIn("xor_success_fraction", figure.sgdspectra["overlays"])
        self.assertEqual(figure.axes[0].get_xlabel(), "kgmm.snr")
        points = [l for l in figure.axes[0].get_lines() if l.get_gid() == "series"]
        self.assertEqual(sorted(points[0].get_xdata()), [20.0, 100.0])
        for s in figure.sgdspectra["statistics"]:
            row = self.aggregates(FIXTURES.kgmm_sweep)[s["group"]]
            self.assertAlmostEqual(s["success_fraction"], float(row["success_fraction"]))

    def test_wilson_interval_matches_known_values(self):
        low, high = theory.wilson_interval(27, 256)  # X1 in docs/REPRODUCTION.md
        self.assertEqual((round(low, 3), round(high, 3)), (0.074, 0.149))
        self.assertEqual(theory.wilson_interval(0, 0), (0.0, 1.0))

    def test_rank_bars_and_accuracy_histogram_count_the_summary(self):
        summary = self.xor.summary
        figure = plot.sweep_rank_figure(summary)
        ax = figure.axes[0]
        heights = {}
        for patch in ax.patches:
            heights[patch.get_gid()] = heights.get(patch.get_gid(), 0) + patch.get_height()
        finished = summary[summary["outlier_rank"].notna()]
        self.assertEqual(heights.get("bars-success", 0), int(finished["success"].sum()))
        self.assertEqual(heights.get("bars-failure", 0), int((~finished["success"]).sum()))
        figure = plot.sweep_accuracy_figure(summary)
        total = sum(p.get_height() for p in figure.axes[0].patches)
        self.assertEqual(total, int(summary["final_test_accuracy"].notna().sum()))
        two = plot.sweep_rank_figure(self.kgmm.summary)
        self.assertEqual(sum(ax.get_visible() for ax in two.axes), 2)  # one panel per group

    def test_alignment_bands_are_the_median_and_quartiles_over_the_seeds(self):
        figure = plot.alignment_bands_figure(self.xor.spectra, self.xor.summary,
                                             spec=self.xor.base_spec)
        bands = figure.sgdspectra["bands"]["all"]
        # Independently: per job and time the mean H neuron-block alignment, from the JSON.
        per_time = {}
        for path in sorted(os.listdir(os.path.join(FIXTURES.xor_sweep, "jobs"))):
            for event in raw_events(os.path.join(FIXTURES.xor_sweep, "jobs", path)):
                if "snapshot" not in event:
                    continue
                s = event["snapshot"]
                values = [sp.get("alignmentAtExpected", 0) for sp in s["spectra"]
                          if sp["matrix"] == "HESSIAN" and sp["block"] == "NEURON"]
                per_time.setdefault(s.get("time", 0), []).append(sum(values) / len(values))
        self.assertEqual(sorted(per_time), list(bands.index))
        for t, values in per_time.items():
            self.assertEqual(len(values), 6)
            for q in (0.25, 0.5, 0.75):
                self.assertAlmostEqual(bands.loc[t, q], numpy.quantile(values, q), places=12)
        line = series_lines(figure.axes[0])[0]
        self.assertEqual(list(line.get_ydata()), list(bands[0.5]))
        self.assertEqual(figure.axes[0].get_xscale(), "symlog")
        d = int(self.xor.base_spec["xor_task"]["dim"])
        self.assertAlmostEqual(figure.sgdspectra["overlays"]["random_alignment HESSIAN NEURON"],
                               math.sqrt(2 / d), places=14)


class CommandLineTest(unittest.TestCase):
    def run_plot(self, *args, expect=0):
        env = dict(os.environ, PYTHONPATH=support.PYTHON_CLIENT_DIR)
        done = subprocess.run([sys.executable, "-m", "sgdspectra.plot"] + list(args),
                              capture_output=True, text=True, env=env, timeout=300)
        self.assertEqual(done.returncode, expect, done.stdout[-2000:] + done.stderr[-3000:])
        return done

    def check_files(self, out, paths, formats):
        self.assertTrue(paths[-1].endswith("report.html"))
        names = {os.path.splitext(os.path.basename(p))[0] for p in paths[:-1]}
        for name in names:
            for fmt in formats:
                path = os.path.join(out, "%s.%s" % (name, fmt))
                self.assertIn(path, paths)
                with open(path, "rb") as f:
                    data = f.read()
                if fmt == "svg":
                    root = ElementTree.fromstring(data)
                    self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg")
                elif fmt == "png":
                    from PIL import Image

                    self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
                    with Image.open(path) as image:
                        image.verify()
                    with Image.open(path) as image:
                        self.assertGreater(image.size[0], 600)
                        self.assertGreater(image.size[1], 400)
                elif fmt == "pdf":
                    self.assertTrue(data.startswith(b"%PDF-"), path)
                    self.assertTrue(data.rstrip().endswith(b"%%EOF"), path)
                    self.assertEqual(len(re.findall(rb"/Type\s*/Page\b", data)), 1, path)
        return names

    def test_events_file_in_three_formats_with_a_report(self):
        out = tempfile.mkdtemp(prefix="plot-cli-", dir=FIXTURES.workdir)
        done = self.run_plot(FIXTURES.xor, "--out", out, "--format", "svg,png,pdf",
                             "--blocks", "1", "--times", "0")
        paths = done.stdout.split()
        names = self.check_files(out, paths, ("svg", "png", "pdf"))
        self.assertEqual(names, {
            "eigenvalues_H_neuron0", "eigenvalues_H_layer1", "eigenvalues_H_layer2",
            "eigenvalues_H_full", "eigenvalues_G_neuron0", "eigenvalues_G_layer1",
            "eigenvalues_G_layer2", "eigenvalues_G_full", "alignment", "accuracy", "loss",
            "gradient_overlap", "norms", "mean_products", "second_layer", "spectrum_t0"})
        with open(os.path.join(out, "report.html")) as f:
            report = f.read()
        self.assertEqual(report.count("<svg"), len(names))
        self.assertNotIn("<?xml", report)
        ids = re.findall(r'\bid="([^"]+)"', report)
        self.assertEqual(len(ids), len(set(ids)), "ids repeat in the report")

    def test_sweep_folder_defaults_to_its_plots_folder(self):
        done = self.run_plot(FIXTURES.kgmm_sweep, "--format", "svg")
        out = os.path.join(FIXTURES.kgmm_sweep, "plots")
        names = self.check_files(out, done.stdout.split(), ("svg",))
        self.assertEqual(names, {"sweep_success", "sweep_rank", "sweep_accuracy",
                                 "sweep_alignment_bands"})

    def test_a_job_id_gives_the_same_figures_as_its_events_file(self):
        job_id = raw_events(FIXTURES.kgmm_every)[0]["jobId"]
        by_file = tempfile.mkdtemp(prefix="by-file-", dir=FIXTURES.workdir)
        by_id = tempfile.mkdtemp(prefix="by-id-", dir=FIXTURES.workdir)
        self.run_plot(FIXTURES.kgmm_every, "--out", by_file, "--format", "svg", "--times", "4")
        self.run_plot(job_id, "--server", FIXTURES.server.address, "--out", by_id,
                      "--format", "svg", "--times", "4")
        files = sorted(os.listdir(by_file))
        self.assertEqual(files, sorted(os.listdir(by_id)))
        for name in files:
            if name.endswith(".svg"):
                with open(os.path.join(by_file, name), "rb") as a, \
                        open(os.path.join(by_id, name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)

    def test_bad_targets_are_usage_errors_and_an_unknown_job_an_rpc_error(self):
        missing = os.path.join(FIXTURES.workdir, "missing.jsonl")
        self.assertIn("no such file", self.run_plot(missing, expect=2).stderr)
        empty_dir = tempfile.mkdtemp(dir=FIXTURES.workdir)
        self.assertIn("summary.csv", self.run_plot(empty_dir, expect=2).stderr)
        lines = {}
        for name in ("kgmm_log", "xor"):
            with open(getattr(FIXTURES, name)) as f:
                lines[name] = f.readlines()
        bad = os.path.join(FIXTURES.workdir, "bad.jsonl")
        with open(bad, "w") as f:
            f.write(lines["kgmm_log"][0] + "{not json\n")
        self.assertIn("bad.jsonl:2", self.run_plot(bad, expect=2).stderr)
        both = os.path.join(FIXTURES.workdir, "both.jsonl")
        with open(both, "w") as f:
            f.write("".join(lines["kgmm_log"] + lines["xor"]))
        self.assertIn("more than one job", self.run_plot(both, expect=2).stderr)
        done = self.run_plot("j-00000000-0000000999", "--server", FIXTURES.server.address,
                             expect=4)
        self.assertIn("NOT_FOUND", done.stderr)
        self.run_plot(FIXTURES.xor, "--format", "gif", expect=2)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-binary", default=os.environ.get("SGDSPECTRA_SERVER_BINARY"))
    parser.add_argument("--cli-binary", default=os.environ.get("SGDSPECTRA_CLI_BINARY"))
    ARGS, rest = parser.parse_known_args()
    if not ARGS.server_binary or not ARGS.cli_binary:
        parser.error("--server-binary and --cli-binary are required")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
