#!/usr/bin/env python3
"""sgdspectra.plot's theory overlays and density figure on hand-built events (no server).

- The Marchenko-Pastur density (plot/theory.py, 2b.): its mass (1, or 1/gamma beside the atom
  1 - 1/gamma) and mean s2 by numerical quadrature, and its agreement with the eigenvalues of
  sampled Wishart matrices s2 (1/M) Z Z^T (an independent truth: numpy's eigensolver).
- With analysis.theory: every figure that has a predicted counterpart draws it dashed in the
  measured series' colour, carrying exactly the snapshots' TheoryPoint numbers (relative to
  t = 0 where the panel is); the alignment with span(means) is sqrt(1 - (off/norm)^2) (off 0.6
  of norm 1 gives 0.8); without predictions the figures carry no dashed line and no legend
  entry or caption sentence for it.
- The density figure: its curve is the nodes broadened by a Gaussian of the stated bandwidth
  (recomputed here), integrates to 1, marks the outlier nodes (weight 1/(n probes)), and at
  t = 0 draws the Marchenko-Pastur density of sigma^2 = (k-1)/(k^2 lambda), gamma = d/M.

Usage: /usr/bin/python3 clients/python/tests/test_plot_theory.py
"""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

sgdspectra = support.use_checkout()
import numpy  # noqa: E402
from sgdspectra import jobs_pb2, plot  # noqa: E402
from sgdspectra.plot import density as density_module  # noqa: E402
from sgdspectra.plot import theory  # noqa: E402

D, K, SNR, M_TEST = 200, 3, 20.0, 400
TIMES = (0.0, 0.5, 2.0)
# Per snapshot: measured (norms, off-mean norms, accuracy, loss) and predicted ones.
NORMS = ([1.0, 1.0, 1.0], [1.25, 1.5, 1.0], [2.0, 2.5, 1.5])
OFF = ([0.98, 0.99, 1.0], [0.6, 0.9, 0.8], [0.4, 0.5, 0.3])
PRED_NORMS = ([1.0, 1.0, 1.0], [1.2, 1.4, 1.1], [1.9, 2.4, 1.6])
PRED_OFF = ([0.98, 0.99, 1.0], [0.7, 0.85, 0.75], [0.5, 0.45, 0.35])
PRED_ALIGN = ([0.2, 0.14, 0.0], [0.75, 0.8, 0.6], [0.9, 0.95, 0.85])
ACCURACY, PRED_ACCURACY = (0.34, 0.7, 0.9), (0.33, 0.75, 0.92)
LOSS, PRED_LOSS = (1.1, 0.7, 0.3), (1.098, 0.65, 0.28)


def class_block_density(spectrum, probes=2, outlier=0.0916):
    """Per probe 10 bulk nodes on [0.002, 0.03] and 3 outlier nodes of weight 1/(d probes);
    one probe's weights sum to 1/probes."""
    for p in range(probes):
        bulk = numpy.linspace(0.002, 0.03, 10) + 0.001 * p
        spectrum.density.node_values.extend(bulk.tolist() + [outlier, outlier * 1.01,
                                                             outlier * 1.02])
        spectrum.density.node_weights.extend([(1 - K / D) / (10 * probes)] * 10
                                             + [1 / (D * probes)] * 3)
        spectrum.density.nodes_per_probe.append(13)


def full_density(spectrum):
    bulk = numpy.linspace(0.001, 0.04, 12)
    outliers = [0.05, 0.06, 0.07, 0.08, 0.09, 0.1]  # k(k-1) of them, weight 1/(k d)
    spectrum.density.node_values.extend(bulk.tolist() + outliers)
    spectrum.density.node_weights.extend([(1 - 6 / (K * D)) / 12] * 12 + [1 / (K * D)] * 6)
    spectrum.density.nodes_per_probe.append(18)


def kgmm_events(theory_on=True, density_on=True):
    events = []
    accepted = jobs_pb2.JobEvent(job_id="j-hand", seq=1)
    spec = accepted.accepted.resolved_spec
    spec.kgmm.dim, spec.kgmm.num_classes, spec.kgmm.snr, spec.kgmm.ridge = D, K, SNR, 0.1
    spec.schedule.kind = jobs_pb2.Schedule.Kind.Value("LOG_SPACED_TIME")
    spec.schedule.t_first = 0.5
    accepted.accepted.test_sample_size = M_TEST
    events.append(accepted)
    for n, t in enumerate(TIMES):
        event = jobs_pb2.JobEvent(job_id="j-hand", seq=2 + n)
        s = event.snapshot
        s.index, s.step, s.time = n, int(t * 100), t
        s.num_classes, s.num_means = K, K
        s.weight_norms.extend(NORMS[n])
        s.off_mean_norms.extend(OFF[n])
        s.weight_mean_products.extend([0.1 * (n + 1) * (c == a) + 0.01 * a
                                       for c in range(K) for a in range(K)])
        s.test_accuracy, s.test_loss = ACCURACY[n], LOSS[n]
        s.train_window = 0 if n == 0 else 50
        if theory_on:
            s.theory.time = t
            s.theory.weight_norms.extend(PRED_NORMS[n])
            s.theory.off_mean_norms.extend(PRED_OFF[n])
            s.theory.alignment.extend(PRED_ALIGN[n])
            s.theory.weight_mean_products.extend([0.09 * (n + 1) * (c == a) for c in range(K)
                                                  for a in range(K)])
            s.theory.test_accuracy, s.theory.test_loss = PRED_ACCURACY[n], PRED_LOSS[n]
        if density_on and n in (0, len(TIMES) - 1):
            class_block_density(s.spectra.add(matrix=jobs_pb2.HESSIAN,
                                              block=jobs_pb2.CLASS_BLOCK, block_index=0,
                                              top_eigenvalues=[0.0916], outlier_count=1,
                                              expected_outliers=K))
            full_density(s.spectra.add(matrix=jobs_pb2.HESSIAN, block=jobs_pb2.FULL,
                                       top_eigenvalues=[0.1], outlier_count=1,
                                       expected_outliers=K * (K - 1)))
        events.append(event)
    return events


def xor_events():
    accepted = jobs_pb2.JobEvent(job_id="j-xor", seq=1)
    accepted.accepted.resolved_spec.xor_task.dim = 40
    accepted.accepted.resolved_spec.xor_task.hidden = 2
    events = [accepted]
    for n, t in enumerate(TIMES):
        event = jobs_pb2.JobEvent(job_id="j-xor", seq=2 + n)
        s = event.snapshot
        s.index, s.time, s.num_classes, s.num_means = n, t, 2, 2
        s.weight_norms.extend([1.0, 1.0])
        s.off_mean_norms.extend([0.9, 0.8])
        s.weight_mean_products.extend([0.1, 0.2, 0.3, 0.4])
        s.second_layer_weights.extend([0.5 + n, -0.5 - n])
        s.theory.time = t
        s.theory.second_layer_weights.extend([0.4 + n, -0.6 - n])
        events.append(event)
    return events


def lines(ax, gid):
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def legend_texts(ax):
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


class MarchenkoPasturTest(unittest.TestCase):
    def test_mass_and_mean_by_quadrature(self):
        from scipy.integrate import quad

        s2 = 0.0111
        for gamma in (0.25, 0.5, 1.0, 2.0, 4.0):
            a, b = theory.marchenko_pastur_support(s2, gamma)
            self.assertAlmostEqual(a, s2 * (1 - math.sqrt(gamma)) ** 2, places=15)
            self.assertAlmostEqual(b, s2 * (1 + math.sqrt(gamma)) ** 2, places=15)

            def p(x):
                return float(theory.marchenko_pastur_density([x], s2, gamma)[0])

            mass = quad(p, a, b, limit=200)[0]
            mean = quad(lambda x: x * p(x), a, b, limit=200)[0]
            # The continuous part carries 1 (gamma <= 1) or 1/gamma; the rest is the atom at 0.
            expected_mass = min(1.0, 1.0 / gamma)
            self.assertAlmostEqual(mass, expected_mass, delta=1e-6, msg=gamma)
            self.assertAlmostEqual(mass + theory.marchenko_pastur_atom(gamma), 1.0, delta=1e-6)
            # E[tr(S)/d] = s2; the atom at 0 adds nothing to the first moment.
            self.assertAlmostEqual(mean / s2, 1.0, delta=1e-6, msg=gamma)
        self.assertEqual(theory.marchenko_pastur_atom(0.5), 0.0)
        self.assertEqual(theory.marchenko_pastur_atom(4.0), 0.75)
        self.assertEqual(list(theory.marchenko_pastur_density([-1.0, 0.0, 1.0], s2, 0.5)),
                         [0.0, 0.0, 0.0])  # outside [a, b]

    def test_matches_sampled_wishart_eigenvalues(self):
        rng = numpy.random.default_rng(11)
        s2 = 0.02
        for d, m in ((400, 800), (400, 200)):
            gamma = d / m
            z = rng.standard_normal((d, m))
            eigenvalues = numpy.linalg.eigvalsh(s2 * (z @ z.T) / m)
            a, b = theory.marchenko_pastur_support(s2, gamma)
            grid = numpy.linspace(a, b, 20001)
            density = theory.marchenko_pastur_density(grid, s2, gamma)
            cdf = numpy.concatenate([[0.0], numpy.cumsum(
                (density[1:] + density[:-1]) / 2 * numpy.diff(grid))])
            atom = theory.marchenko_pastur_atom(gamma)
            # Rank M < d: exactly d - M zero eigenvalues, the atom 1 - 1/gamma.
            self.assertEqual(numpy.mean(eigenvalues < 1e-10 * s2), atom)
            for q in (0.2, 0.4, 0.6, 0.8):
                x = a + q * (b - a)
                predicted = atom + numpy.interp(x, grid, cdf)
                measured = numpy.mean(eigenvalues <= x)
                # The empirical distribution function of a Wishart matrix is within O(1/d) of
                # its limit away from the edges; 0.02 is 8/d.
                self.assertAlmostEqual(measured, predicted, delta=0.02, msg=(d, m, q))


class OverlayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.job = plot.load_job(kgmm_events())
        cls.plain = plot.load_job(kgmm_events(theory_on=False))

    def check_predicted(self, ax, measured_colors, expected_y, expected_t=TIMES):
        predicted = lines(ax, "predicted")
        self.assertEqual(len(predicted), len(expected_y))
        for line, color, y in zip(predicted, measured_colors, expected_y):
            self.assertEqual(line.get_linestyle(), "--")
            self.assertEqual(line.get_color(), color)
            self.assertEqual(list(line.get_xdata()), list(expected_t))
            numpy.testing.assert_allclose(line.get_ydata(), y, rtol=1e-15)
        self.assertIn("predicted", legend_texts(ax))

    def test_accuracy_and_loss_draw_the_population_prediction(self):
        for function, values in ((plot.accuracy_figure, PRED_ACCURACY),
                                 (plot.loss_figure, PRED_LOSS)):
            figure = function(self.job.snapshots, spec=self.job)
            ax = figure.axes[0]
            test_line = lines(ax, "series")[0]  # the test metric comes first
            self.check_predicted(ax, [test_line.get_color()], [values])
            self.assertIn("effective-dynamics prediction", figure.sgdspectra["caption"])
            plain = function(self.plain.snapshots, spec=self.plain)
            self.assertEqual(lines(plain.axes[0], "predicted"), [])
            self.assertNotIn("predicted", legend_texts(plain.axes[0]))
            self.assertNotIn("effective-dynamics", plain.sgdspectra["caption"])
            self.assertEqual(len(lines(plain.axes[0], "series")), len(lines(ax, "series")))

    def test_norms_products_and_alignment_with_the_means(self):
        figure = plot.norms_figure(self.job.snapshots, spec=self.job)
        off_ax, norm_ax, relative_ax = figure.axes[:3]
        pred_off = numpy.array(PRED_OFF).T  # [c] -> values over time
        pred_norm = numpy.array(PRED_NORMS).T
        for ax, expected in ((off_ax, pred_off), (norm_ax, pred_norm),
                             (relative_ax, pred_off / pred_off[:, :1])):
            self.check_predicted(ax, [l.get_color() for l in lines(ax, "series")], expected)
        plain = plot.norms_figure(self.plain.snapshots, spec=self.plain)
        self.assertTrue(all(lines(ax, "predicted") == [] for ax in plain.axes))

        products = plot.mean_products_figure(self.job.snapshots, spec=self.job)
        ax = products.axes[0]  # x^0 . mu_a, a = 0, 1, 2: predicted 0.09 (n + 1) on a = 0
        expected = [[0.09 * (n + 1) * (a == 0) for n in range(3)] for a in range(K)]
        self.check_predicted(ax, [l.get_color() for l in lines(ax, "series")], expected)

        figure = plot.means_alignment_figure(self.job.snapshots, spec=self.job)
        ax = figure.axes[0]
        measured = lines(ax, "series")
        self.assertEqual(len(measured), K)
        # Hand-computed: off 0.6 of norm 1.25 -> sqrt(1 - 0.2304) = 0.8773; 0.98 of 1 -> 0.199.
        self.assertAlmostEqual(measured[0].get_ydata()[1], math.sqrt(1 - (0.6 / 1.25) ** 2),
                               places=15)
        self.assertAlmostEqual(measured[0].get_ydata()[0], math.sqrt(1 - 0.98 ** 2), places=15)
        self.assertEqual(measured[2].get_ydata()[0], 0.0)  # off = norm: orthogonal to the means
        self.check_predicted(ax, [l.get_color() for l in measured], numpy.array(PRED_ALIGN).T)
        # The theory frame says the same.
        frame = sgdspectra.theory_frame(kgmm_events())
        row = frame[(frame["snapshot_index"] == 1) & (frame["block"] == 0)].iloc[0]
        self.assertEqual(row["measured_alignment"], measured[0].get_ydata()[1])
        self.assertEqual(row["predicted_alignment"], PRED_ALIGN[1][0])

    def test_second_layer_prediction(self):
        job = plot.load_job(xor_events())
        figure = plot.second_layer_figure(job.snapshots, spec=job)
        ax = figure.axes[0]
        self.check_predicted(ax, [l.get_color() for l in lines(ax, "series")],
                             [[0.4 + n for n in range(3)], [-0.6 - n for n in range(3)]])

    def test_job_figures_add_the_means_alignment_and_density_figures_only_when_asked(self):
        names = [f.sgdspectra["name"] for f in plot.job_figures(self.job)[0]]
        self.assertIn("alignment_means", names)
        self.assertEqual([n for n in names if n.startswith("density")],
                         ["density_t0", "density_t2"])  # default: first and last
        plain = [f.sgdspectra["name"] for f in plot.job_figures(self.plain)[0]]
        self.assertEqual(set(names) - set(plain), {"alignment_means"})
        no_density = plot.load_job(kgmm_events(density_on=False))
        self.assertTrue(no_density.density.empty)
        names = [f.sgdspectra["name"] for f in plot.job_figures(no_density)[0]]
        self.assertIn("alignment_means", names)
        self.assertFalse(any(n.startswith("density") for n in names))


class DensityFigureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.job = plot.load_job(kgmm_events())

    def test_curve_is_the_broadened_nodes_with_the_stated_bandwidth(self):
        figure = density_module.density_figure(self.job.density, 0, spec=self.job)
        class_ax, full_ax = figure.axes[:2]
        curve = lines(class_ax, "density")[0]
        # Bulk nodes span [0.002, 0.031] over the two probes: h = 2 % of 0.029.
        h = 0.02 * (0.031 - 0.002)
        self.assertAlmostEqual(figure.sgdspectra["bandwidths"]["H c0"], h, places=15)
        nodes = self.job.density
        nodes = nodes[(nodes["snapshot_index"] == 0) & (nodes["block"] == "CLASS_BLOCK")]
        x = curve.get_xdata()
        expected = numpy.zeros_like(x)
        for v, w in zip(nodes["node_value"], nodes["node_weight"]):
            expected += w * numpy.exp(-(x - v) ** 2 / (2 * h * h)) / (h * math.sqrt(2 * math.pi))
        numpy.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-12, atol=1e-12)
        # The weights sum to 1, so does the broadened curve (trapezoid on 800 points; the grid
        # reaches 4 h beyond the extreme nodes: 6e-5 of the mass lies outside).
        self.assertAlmostEqual(numpy.trapz(curve.get_ydata(), x), 1.0, delta=1e-3)
        # Spikes: the 3 outlier nodes of each of the 2 probes (weight 1/(d 2)), no bulk node.
        spikes = lines(class_ax, "density-spikes")[0]
        self.assertEqual(sorted(spikes.get_xdata()),
                         sorted([0.0916, 0.0916 * 1.01, 0.0916 * 1.02] * 2))
        full_spikes = lines(full_ax, "density-spikes")[0]
        self.assertEqual(list(full_spikes.get_xdata()), [0.05, 0.06, 0.07, 0.08, 0.09, 0.1])

    def test_light_nodes_at_or_below_the_reported_bulk_edge_are_not_spikes(self):
        events = kgmm_events()
        for event in events:
            if event.HasField("snapshot"):
                for spectrum in event.snapshot.spectra:
                    if spectrum.block == jobs_pb2.CLASS_BLOCK:
                        spectrum.bulk_edge = 0.0916  # the first outlier node sits on the edge
        job = plot.load_job(events)
        figure = density_module.density_figure(job.density, 0, spec=job, spectra=job.spectra)
        spikes = lines(figure.axes[0], "density-spikes")[0]
        self.assertEqual(sorted(spikes.get_xdata()), sorted([0.0916 * 1.01, 0.0916 * 1.02] * 2))
        # The full H reports no edge (0): every light node stays a spike.
        full_spikes = lines(figure.axes[1], "density-spikes")[0]
        self.assertEqual(len(full_spikes.get_xdata()), 6)
        self.assertIn("above the block's reported bulk edge", figure.sgdspectra["caption"])

    def test_marchenko_pastur_at_t0_for_the_class_block_only(self):
        figure = density_module.density_figure(self.job.density, 0, spec=self.job)
        s2 = (K - 1) / (K * K * SNR)
        gamma = D / M_TEST
        self.assertAlmostEqual(figure.sgdspectra["overlays"]["mp_sigma2"], s2, places=15)
        self.assertAlmostEqual(figure.sgdspectra["overlays"]["mp_gamma"], gamma, places=15)
        mp = lines(figure.axes[0], "overlay-mp-density")[0]
        x = mp.get_xdata()
        self.assertAlmostEqual(x[0], s2 * (1 - math.sqrt(gamma)) ** 2, places=15)
        self.assertAlmostEqual(x[-1], s2 * (1 + math.sqrt(gamma)) ** 2, places=15)
        # The drawn curve is the function at the figure's parameters (equal to s2 and gamma
        # above to the last digits; the exact ones matter at the support's ends, where the
        # density drops to 0).
        overlays = figure.sgdspectra["overlays"]
        numpy.testing.assert_array_equal(
            mp.get_ydata(),
            theory.marchenko_pastur_density(x, overlays["mp_sigma2"], overlays["mp_gamma"]))
        # By hand at the centre of the support: sqrt((b - x)(x - a)) / (2 pi s2 gamma x).
        a, b = x[0], x[-1]
        centre = (a + b) / 2
        self.assertAlmostEqual(
            float(theory.marchenko_pastur_density([centre], s2, gamma)[0]),
            math.sqrt((b - centre) * (centre - a)) / (2 * math.pi * s2 * gamma * centre),
            places=12)
        self.assertEqual(lines(figure.axes[0], "overlay-mp-atom"), [])  # gamma = 1/2: no atom
        self.assertEqual(lines(figure.axes[1], "overlay-mp-density"), [])  # not the full H
        later = density_module.density_figure(self.job.density, 2, spec=self.job)
        self.assertEqual(lines(later.axes[0], "overlay-mp-density"), [])  # not after t = 0
        self.assertNotIn("mp_sigma2", later.sgdspectra["overlays"])

    def test_without_spec_no_spikes_and_no_theory(self):
        figure = density_module.density_figure(self.job.density, 0)
        self.assertEqual(lines(figure.axes[0], "density-spikes"), [])
        self.assertEqual(lines(figure.axes[0], "overlay-mp-density"), [])
        self.assertIn("spikes not marked", figure.sgdspectra["caption"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
