// Tests of the effective dynamics (docs/THEORY.md) against independent truth: closed-form
// Gaussian integrals, the expected increment of the real SGD step by brute-force Monte Carlo,
// and real SGD runs, with tolerances from the predicted O(sqrt(c_delta / d)) fluctuations.
//
// The sweep over d = 250 ... 2000 that prints the closing tables runs only with
// SGDSPECTRA_THEORY_SWEEP=1 (a minute or two); everything else is part of the CI default.
#include "sgdspectra/core/effective_dynamics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/softmax_model.h"
#include "sgdspectra/core/two_layer_model.h"
#include "snapshot_recorder.h"

namespace sgdspectra {
namespace {

TEST(EffectiveDynamicsTest, GaussHermiteIsExactForPolynomials) {
  GaussHermiteRule rule;
  ASSERT_TRUE(MakeGaussHermiteRule(10, &rule).ok());
  // E Z^(2j) = (2j - 1)!!, exact up to degree 2n - 1 = 19.
  double double_factorial = 1;
  for (int j = 0; j <= 9; ++j) {
    if (j > 0) double_factorial *= 2 * j - 1;
    double even = 0, odd = 0;
    for (int i = 0; i < 10; ++i) {
      even += rule.weights[i] * std::pow(rule.nodes[i], 2 * j);
      odd += rule.weights[i] * std::pow(rule.nodes[i], 2 * j + 1);
    }
    EXPECT_NEAR(even, double_factorial, 1e-11 * double_factorial) << "degree " << 2 * j;
    EXPECT_NEAR(odd, 0.0, 1e-11 * double_factorial);
  }
  EXPECT_FALSE(MakeGaussHermiteRule(0, &rule).ok());
}

// Upper tail only to x = 4: beyond it Phi(x) = 1 - tiny is itself rounded (a conditioning
// limit of the test, not of the quantile); the lower tail is exact in relative terms.
TEST(EffectiveDynamicsTest, NormalQuantileInvertsTheCdf) {
  for (double x : {-8.0, -3.0, -0.5, 0.0, 1e-3, 0.7, 2.5, 4.0}) {
    EXPECT_NEAR(NormalQuantile(NormalCdf(x)), x, 1e-9 * (1 + std::abs(x))) << x;
  }
  EXPECT_TRUE(std::isinf(NormalQuantile(0.0)));
}

// At x = 0 every softmax is uniform: m' = (I - 11^T / k) / k (times the Gram) and
// R' = (c_delta / (lambda k)) (I - 11^T / k), by hand.
TEST(EffectiveDynamicsTest, DriftAtTheOriginHasItsClosedForm) {
  KgmmDynamicsParams p;
  p.num_classes = 3;
  p.snr = 7;
  p.c_delta = 2.5;
  KgmmStatistics zero{MatrixXd::Zero(3, 3), MatrixXd::Zero(3, 3)};
  KgmmStatistics f;
  ASSERT_TRUE(KgmmDrift(p, zero, EffectiveDynamicsOptions(), &f).ok());
  const MatrixXd centred = MatrixXd::Identity(3, 3) - MatrixXd::Constant(3, 3, 1.0 / 3);
  EXPECT_LT((f.m - centred / 3).norm(), 1e-14);
  EXPECT_LT((f.r - p.c_delta / (p.snr * 3) * centred).norm(), 1e-14);
}

// The reduced case k = 2: everything depends on the logit difference D = l_0 - l_1, which given
// class a is N(m_0a - m_1a, (R_00 + R_11 - 2 R_01) / lambda). With e_a = E_a[sigmoid(D)],
// h_a = E_a[sigmoid(D)(1 - sigmoid(D))], q_a = E_a[(sigmoid(D) - 1{a = 0})^2] and J = [[1, -1],
// [-1, 1]]: gbar^a = (e_a - 1{a=0}) (1, -1), Hbar^a = h_a J, Gbar^a = q_a J. The header's drift
// then needs only these one-dimensional integrals, done here by Simpson's rule (4000 panels
// over +-12 sd), independently of the code's two-dimensional Gauss-Hermite rule; the loss
// (log(1 + e^{-D}) for class 0, log(1 + e^{D}) for class 1) the same way, and the accuracy in
// closed form, Phi(+-mean / sd).
double SimpsonNormal(double mean, double sd, const std::function<double(double)>& f) {
  const int n = 4000;
  const double lo = mean - 12 * sd, h = 24 * sd / n;
  double sum = 0;
  for (int i = 0; i <= n; ++i) {
    const double x = lo + i * h, z = (x - mean) / sd;
    const double w = (i == 0 || i == n) ? 1 : (i % 2 == 1 ? 4 : 2);
    sum += w * f(x) * std::exp(-0.5 * z * z) / (sd * std::sqrt(2 * M_PI));
  }
  return sum * h / 3;
}

TEST(EffectiveDynamicsTest, TwoClassDriftAndMetricsReduceToOneDimensionalIntegrals) {
  KgmmDynamicsParams p;
  p.num_classes = 2;
  p.snr = 4;
  p.ridge = 0.3;
  p.c_delta = 2;
  KgmmStatistics s;
  s.m.resize(2, 2);
  s.m << 0.7, -0.2, 0.1, 0.5;
  s.r.resize(2, 2);
  s.r << 1.3, 0.4, 0.4, 0.9;
  const auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  const double sd = std::sqrt((s.r(0, 0) + s.r(1, 1) - 2 * s.r(0, 1)) / p.snr);
  MatrixXd j(2, 2);
  j << 1, -1, -1, 1;
  MatrixXd m_drift = -p.ridge * s.m, a_sum = MatrixXd::Zero(2, 2), g_sum = MatrixXd::Zero(2, 2);
  double accuracy = 0, loss = 0;
  for (int a = 0; a < 2; ++a) {
    const double mean = s.m(0, a) - s.m(1, a), first = a == 0 ? 1 : 0;
    const double e = SimpsonNormal(mean, sd, sigmoid);
    const double h = SimpsonNormal(mean, sd, [&](double x) { return sigmoid(x) * sigmoid(-x); });
    const double q = SimpsonNormal(
        mean, sd, [&](double x) { return (sigmoid(x) - first) * (sigmoid(x) - first); });
    // P(D > 0 | class 0) = Phi(mean / sd), P(D < 0 | class 1) = Phi(-mean / sd), by erfc.
    accuracy += 0.25 * std::erfc(-(a == 0 ? mean : -mean) / (sd * std::sqrt(2.0)));
    loss += 0.5 * SimpsonNormal(mean, sd,
                                [&](double x) { return std::log1p(std::exp(a == 0 ? -x : x)); });
    VectorXd gbar(2);
    gbar << e - first, -(e - first);
    MatrixXd gram_row = MatrixXd::Zero(2, 2);
    gram_row.col(a) = gbar;  // gbar^a Gram_{a.} with Gram = I
    m_drift -= 0.5 * (gram_row + h * j * s.m / p.snr);
    a_sum += 0.5 * (gbar * s.m.col(a).transpose() + h * j * s.r / p.snr);
    g_sum += 0.5 * q * j;
  }
  const MatrixXd r_drift =
      -2 * p.ridge * s.r - a_sum - a_sum.transpose() + p.c_delta / p.snr * g_sum;
  KgmmStatistics f;
  ASSERT_TRUE(KgmmDrift(p, s, EffectiveDynamicsOptions(), &f).ok());
  EXPECT_LT((f.m - m_drift).cwiseAbs().maxCoeff(), 1e-9) << f.m << "\n" << m_drift;
  EXPECT_LT((f.r - r_drift).cwiseAbs().maxCoeff(), 1e-9) << f.r << "\n" << r_drift;
  KgmmPrediction at_state;
  EffectiveDynamicsOptions o;
  o.compute_limit = false;
  ASSERT_TRUE(PredictKgmm(p, s, {0.0}, o, &at_state).ok());
  EXPECT_NEAR(at_state.points[0].test_accuracy, accuracy, 1e-12);
  EXPECT_NEAR(at_state.points[0].test_loss, loss, 1e-9);
}

// ---------------------------------------------------------------------------------------------
// The drift is the expected increment of the real SGD step per unit time. Brute force: N
// samples of SoftmaxSgdStep from one state, (X' X'^T - X X^T) / step averaged, with the
// Monte Carlo standard error. The finite-d differences from the limit drift (O(step) terms:
// step beta^2 R, step |mu|^2, the k directions of |Z|^2 that correlate with the logits) are
// O(k / d) relative and far below the error bar here.
struct IncrementEstimate {
  MatrixXd mean_m, se_m, mean_r, se_r;
  double loss = 0, loss_se = 0, accuracy = 0;
};

IncrementEstimate MonteCarloIncrement(const GaussianMixture& mixture, const RowMatrix& x,
                                      double step, double beta, long samples) {
  const int k = static_cast<int>(x.rows());
  const long d = x.cols();
  IncrementEstimate e;
  MatrixXd sum_m = MatrixXd::Zero(k, k), sq_m = sum_m, sum_r = sum_m, sq_r = sum_m;
  const MatrixXd m0 = x * mixture.centers().transpose(), r0 = x * x.transpose();
  Rng rng(99, RngStream::kSgdSamples);
  VectorXd y(d), logits(k), probs(k);
  double loss_sq = 0;
  for (long n = 0; n < samples; ++n) {
    RowMatrix w = x;
    const int label = mixture.Draw(rng, y.data());
    const StepOutcome o =
        SoftmaxSgdStep(w, y.data(), label, step, beta, logits.data(), probs.data());
    const MatrixXd dm = (w * mixture.centers().transpose() - m0) / step;
    const MatrixXd dr = (w * w.transpose() - r0) / step;
    sum_m += dm;
    sq_m += dm.cwiseAbs2();
    sum_r += dr;
    sq_r += dr.cwiseAbs2();
    e.loss += o.loss;
    loss_sq += o.loss * o.loss;
    e.accuracy += o.correct;
  }
  const double n = static_cast<double>(samples);
  e.mean_m = sum_m / n;
  e.mean_r = sum_r / n;
  e.se_m = ((sq_m / n - e.mean_m.cwiseAbs2()) / n).cwiseSqrt();
  e.se_r = ((sq_r / n - e.mean_r.cwiseAbs2()) / n).cwiseSqrt();
  e.loss /= n;
  e.loss_se = std::sqrt((loss_sq / n - e.loss * e.loss) / n);
  e.accuracy /= n;
  return e;
}

// A state away from the origin: x^c = sum_a A_ca mu_a + off-mean noise.
RowMatrix GenericState(const GaussianMixture& mixture, int k, long d) {
  MatrixXd a(k, k);
  for (int c = 0; c < k; ++c) {
    for (int b = 0; b < k; ++b) a(c, b) = (c == b ? 1.6 : -0.3) + 0.1 * (c - b);
  }
  RowMatrix x = a * mixture.centers();
  Rng rng(5, RngStream::kInit);
  for (long i = 0; i < x.size(); ++i) x.data()[i] += 0.8 * rng.Normal() / std::sqrt(d);
  return x;
}

TEST(EffectiveDynamicsTest, KgmmDriftIsTheExpectedSgdIncrement) {
  const int k = 4;
  const long d = 1000;
  KgmmDynamicsParams p;
  p.num_classes = k;
  p.snr = 5;  // noisy logits: the quadrature's Gaussian is wide
  p.ridge = 0.3;
  p.c_delta = 3;  // a large corrector, so a wrong factor would show
  p.class_probs = {0.1, 0.2, 0.3, 0.4};
  p.mean_gram = MatrixXd::Identity(k, k);
  p.mean_gram(0, 1) = p.mean_gram(1, 0) = 0.4;  // non-orthogonal means
  GaussianMixture mixture;
  ASSERT_TRUE(GaussianMixture::MakeKgmm(d, k, {1, 0.4, 0, 0, 0.4, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1},
                                        p.class_probs, p.snr, 3, kLatestRandomStreamVersion,
                                        &mixture)
                  .ok());
  const RowMatrix x = GenericState(mixture, k, d);
  const IncrementEstimate mc = MonteCarloIncrement(mixture, x, p.c_delta / d, p.ridge, 40000);
  KgmmStatistics drift;
  ASSERT_TRUE(
      KgmmDrift(p, KgmmStatisticsOf(x, mixture.centers()), EffectiveDynamicsOptions(), &drift)
          .ok());
  // 4.5 standard errors: 32 entries, a two-sided false alarm has probability 32 * 7e-6.
  for (int c = 0; c < k; ++c) {
    for (int b = 0; b < k; ++b) {
      EXPECT_NEAR(drift.m(c, b), mc.mean_m(c, b), 4.5 * mc.se_m(c, b)) << "m " << c << b;
      EXPECT_NEAR(drift.r(c, b), mc.mean_r(c, b), 4.5 * mc.se_r(c, b)) << "R " << c << b;
    }
  }
  // The corrector matters here: without it R' would be off by many error bars.
  KgmmDynamicsParams no_noise = p;
  no_noise.c_delta = 1e-9;
  KgmmStatistics drift0;
  ASSERT_TRUE(KgmmDrift(no_noise, KgmmStatisticsOf(x, mixture.centers()),
                        EffectiveDynamicsOptions(), &drift0)
                  .ok());
  EXPECT_GT(std::abs(drift.r(2, 2) - drift0.r(2, 2)), 10 * mc.se_r(2, 2));
  // Test loss and accuracy of the state against the same samples (pre-step values).
  KgmmPrediction pred;
  EffectiveDynamicsOptions o;
  o.compute_limit = false;
  ASSERT_TRUE(PredictKgmm(p, KgmmStatisticsOf(x, mixture.centers()), {0.0}, o, &pred).ok());
  EXPECT_NEAR(pred.points[0].test_loss, mc.loss, 4.5 * mc.loss_se);
  const double acc = pred.points[0].test_accuracy;
  EXPECT_NEAR(acc, mc.accuracy, 4.5 * std::sqrt(acc * (1 - acc) / 40000) + pred.accuracy_error);
}

// ---------------------------------------------------------------------------------------------
// Real SGD runs (RunExperiment with the spectral analysis off: only the summary statistics,
// test loss and accuracy are computed at the snapshots).
ExperimentSpec KgmmSpec(long d, uint64_t seed) {
  ExperimentSpec spec;  // K1 of docs/SCIENCE.md: k = 4, lambda = 20, beta = 0.1, c_delta = 1
  spec.seed = seed;
  spec.kgmm.dim = d;
  spec.kgmm.num_classes = 4;
  spec.kgmm.snr = 20;
  spec.sgd.t_end = 20;
  spec.schedule.num_points = 6;
  spec.analysis.class_blocks = false;
  spec.analysis.full_matrices = false;
  return spec;
}

struct KgmmRunAndPrediction {
  std::vector<Snapshot> snapshots;
  ExperimentResult result;
  KgmmDynamicsParams params;
  KgmmPrediction prediction;
};

KgmmRunAndPrediction RunAndPredict(const ExperimentSpec& spec, bool fluctuations,
                                   bool predict = true) {
  KgmmRunAndPrediction out;
  SnapshotRecorder recorder;
  out.result = RunExperiment(spec, &recorder, nullptr);
  EXPECT_TRUE(out.result.status.ok()) << out.result.status.ToString();
  out.snapshots = recorder.snapshots;
  KgmmStatistics initial;
  EXPECT_TRUE(KgmmParamsFromSpec(spec, &out.params).ok());
  if (!predict) return out;
  EXPECT_TRUE(InitialKgmmStatistics(spec, &initial).ok());
  std::vector<double> times;
  for (const Snapshot& s : out.snapshots) times.push_back(s.time);
  EffectiveDynamicsOptions o;
  o.fluctuations = fluctuations;
  o.compute_limit = false;
  const Status st = PredictKgmm(out.params, initial, times, o, &out.prediction);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

int PackedRIndex(int k, int c) { return k * k + c * k - c * (c - 1) / 2; }

// The alignment with span(means), a_c = sqrt(S / R_cc) with S = sum_a m_ca^2 (orthonormal
// means), measured from the snapshot's own norms (sqrt(1 - off^2 / |x|^2), as the CLI and the
// Python client compute it) against the prediction, in predicted sd by the delta method:
// da/dm_ca = m_ca / (a R_cc), da/dR_cc = -a / (2 R_cc), var = scale g^T P g.
double AlignmentError(const Snapshot& s, const KgmmPredictionPoint& q, const MatrixXd& p,
                      double scale, int c) {
  const int k = static_cast<int>(q.stats.m.rows());
  const double r = q.stats.r(c, c), a = q.alignment[c];
  VectorXd g = VectorXd::Zero(p.rows());
  for (int b = 0; b < k; ++b) g[c + k * b] = q.stats.m(c, b) / (a * r);
  g[PackedRIndex(k, c)] = -a / (2 * r);
  const double sd = std::sqrt(scale * g.dot(p * g));
  const double ratio = s.off_mean_norms[c] / s.weight_norms[c];
  return (std::sqrt(1 - ratio * ratio) - a) / sd;
}

// Standardised errors (measured - predicted) / predicted sd of m_ca, |x^c| and the alignment
// with span(means) at every snapshot after t = 0, with the predicted covariance (c_delta / d) P of
// `reference`.
std::vector<double> StandardisedErrors(const KgmmRunAndPrediction& run,
                                       const KgmmPrediction& reference, long d) {
  const int k = run.params.num_classes;
  const double scale = run.params.c_delta / static_cast<double>(d);
  std::vector<double> z;
  for (size_t i = 1; i < run.snapshots.size(); ++i) {
    const Snapshot& s = run.snapshots[i];
    const KgmmPredictionPoint& q = run.prediction.points[i];
    const MatrixXd& p = reference.points[i].fluctuation;
    for (int c = 0; c < k; ++c) {
      for (int a = 0; a < k; ++a) {
        const double sd = std::sqrt(scale * p(c + k * a, c + k * a));
        z.push_back((s.weight_mean_products[c * k + a] - q.stats.m(c, a)) / sd);
      }
      // |x| = sqrt(R_cc): sd(|x|) = sd(R_cc) / (2 |x|) to leading order.
      const int j = PackedRIndex(k, c);
      const double sd = std::sqrt(scale * p(j, j)) / (2 * q.weight_norms[c]);
      z.push_back((s.weight_norms[c] - q.weight_norms[c]) / sd);
      z.push_back(AlignmentError(s, q, p, scale, c));
    }
  }
  return z;
}

double MeanAbsoluteError(const KgmmRunAndPrediction& run) {
  const int k = run.params.num_classes;
  double sum = 0;
  long n = 0;
  for (size_t i = 1; i < run.snapshots.size(); ++i) {
    for (int c = 0; c < k; ++c) {
      for (int a = 0; a < k; ++a) {
        sum += std::abs(run.snapshots[i].weight_mean_products[c * k + a] -
                        run.prediction.points[i].stats.m(c, a));
        ++n;
      }
      sum += std::abs(run.snapshots[i].weight_norms[c] - run.prediction.points[i].weight_norms[c]);
      ++n;
    }
  }
  return sum / n;
}

// The starting point is the job's own: the snapshot at t = 0 reports the same statistics.
TEST(EffectiveDynamicsTest, InitialStatisticsAreTheJobsOwn) {
  ExperimentSpec spec = KgmmSpec(300, 11);
  spec.sgd.t_end = 1;
  spec.schedule.num_points = 2;
  spec.schedule.t_first = 0.5;
  SnapshotRecorder recorder;
  ASSERT_TRUE(RunExperiment(spec, &recorder, nullptr).status.ok());
  KgmmStatistics initial;
  ASSERT_TRUE(InitialKgmmStatistics(spec, &initial).ok());
  const Snapshot& s = recorder.snapshots.front();
  for (int c = 0; c < 4; ++c) {
    for (int a = 0; a < 4; ++a) EXPECT_EQ(s.weight_mean_products[c * 4 + a], initial.m(c, a));
    EXPECT_NEAR(s.weight_norms[c], std::sqrt(initial.r(c, c)), 1e-14);
  }
}

// d = 2000, three seeds: every m_ca, |x^c| and alignment with span(means) at every snapshot
// within 5 predicted sd, and the
// mean squared standardised error near 1 (the predicted sd is neither too small nor too large).
// The same at d = 250 with the sd scaled by sqrt(8), and the raw error shrinking by ~sqrt(8).
TEST(EffectiveDynamicsTest, KgmmSgdFollowsThePredictionWithinItsFluctuations) {
  std::vector<double> z_large, z_small;
  double error_large = 0, error_small = 0;
  KgmmPrediction reference;
  const int seeds = 3;
  for (int seed = 1; seed <= seeds; ++seed) {
    KgmmRunAndPrediction large = RunAndPredict(KgmmSpec(2000, seed), seed == 1);
    if (seed == 1) reference = large.prediction;
    for (double z : StandardisedErrors(large, reference, 2000)) z_large.push_back(z);
    error_large += MeanAbsoluteError(large) / seeds;
  }
  for (int seed = 1; seed <= seeds + 1; ++seed) {
    KgmmRunAndPrediction small = RunAndPredict(KgmmSpec(250, seed), false);
    for (double z : StandardisedErrors(small, reference, 250)) z_small.push_back(z);
    error_small += MeanAbsoluteError(small) / (seeds + 1);
  }
  for (const std::vector<double>* z : {&z_large, &z_small}) {
    double max_abs = 0, mean_sq = 0;
    for (double x : *z) {
      max_abs = std::max(max_abs, std::abs(x));
      mean_sq += x * x / z->size();
    }
    EXPECT_LT(max_abs, 5.0);
    // Entries and times are strongly correlated (about 40 independent values per set), so
    // the mean square has sd ~ sqrt(2 / 40) ~ 0.22; [0.3, 2.5] is far outside that.
    EXPECT_GT(mean_sq, 0.3);
    EXPECT_LT(mean_sq, 2.5);
  }
  // Expected ratio sqrt(8) = 2.83; with ~40 effective values per d the ratio's sd is ~25 %.
  const double ratio = error_small / error_large;
  EXPECT_GT(ratio, 1.6);
  EXPECT_LT(ratio, 5.0);
  std::printf("mean |error|: d=250 %.4f, d=2000 %.4f, ratio %.2f\n", error_small, error_large,
              ratio);
}

// Larger beta -> smaller |x^c|; larger c_delta -> larger off-mean part (the corrector), in the
// prediction and in the measurement, each measured value within 5 predicted sd.
void ExpectWithinFluctuation(const KgmmRunAndPrediction& run, long d) {
  const KgmmPredictionPoint& q = run.prediction.points.back();
  const Snapshot& s = run.snapshots.back();
  const double scale = run.params.c_delta / static_cast<double>(d);
  for (int c = 0; c < 4; ++c) {
    const int j = PackedRIndex(4, c);
    const double sd = std::sqrt(scale * q.fluctuation(j, j)) / (2 * q.weight_norms[c]);
    EXPECT_NEAR(s.weight_norms[c], q.weight_norms[c], 5 * sd) << "class " << c;
  }
}

double MeanOf(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / v.size();
}
double MeanOf(const VectorXd& v) { return v.mean(); }

TEST(EffectiveDynamicsTest, RidgeAndStepSizeShowInPredictionAndMeasurement) {
  const long d = 1000;
  ExperimentSpec weak = KgmmSpec(d, 4), strong = weak;
  weak.sgd.t_end = strong.sgd.t_end = 10;
  strong.kgmm.ridge = 0.5;
  const KgmmRunAndPrediction a = RunAndPredict(weak, true), b = RunAndPredict(strong, true);
  ExpectWithinFluctuation(a, d);
  ExpectWithinFluctuation(b, d);
  EXPECT_LT(MeanOf(b.prediction.points.back().weight_norms),
            MeanOf(a.prediction.points.back().weight_norms));
  EXPECT_LT(MeanOf(b.snapshots.back().weight_norms), MeanOf(a.snapshots.back().weight_norms));

  ExperimentSpec small_step = weak, large_step = weak;
  small_step.sgd.c_delta = 0.5;
  large_step.sgd.c_delta = 3;
  const KgmmRunAndPrediction c = RunAndPredict(small_step, true);
  const KgmmRunAndPrediction e = RunAndPredict(large_step, true);
  ExpectWithinFluctuation(c, d);
  ExpectWithinFluctuation(e, d);
  EXPECT_GT(MeanOf(e.prediction.points.back().off_mean_norms),
            MeanOf(c.prediction.points.back().off_mean_norms));
  EXPECT_GT(MeanOf(e.snapshots.back().off_mean_norms), MeanOf(c.snapshots.back().off_mean_norms));
  std::printf(
      "t=10 d=1000 mean |x|: beta 0.1 %.4f/%.4f, beta 0.5 %.4f/%.4f (measured/predicted)\n",
      MeanOf(a.snapshots.back().weight_norms), MeanOf(a.prediction.points.back().weight_norms),
      MeanOf(b.snapshots.back().weight_norms), MeanOf(b.prediction.points.back().weight_norms));
  std::printf(
      "t=10 d=1000 mean off-mean: c 0.5 %.4f/%.4f, c 3 %.4f/%.4f (measured/predicted)\n",
      MeanOf(c.snapshots.back().off_mean_norms), MeanOf(c.prediction.points.back().off_mean_norms),
      MeanOf(e.snapshots.back().off_mean_norms), MeanOf(e.prediction.points.back().off_mean_norms));
}

// Predicted test accuracy and loss at the run's own final statistics against the measured ones
// on the run's test sample (M = 2d): given the weights, the test logits are exactly Gaussian,
// so only the test sample's sampling error separates them (binomial for the accuracy; the
// per-sample losses' own sd / sqrt(M) for the loss).
TEST(EffectiveDynamicsTest, TestMetricsAtMeasuredStatisticsMatchTheTestSample) {
  const ExperimentSpec spec = KgmmSpec(1000, 8);
  const KgmmRunAndPrediction run = RunAndPredict(spec, false, false);
  KgmmPrediction at_final;
  EffectiveDynamicsOptions o;
  o.compute_limit = false;
  const KgmmStatistics final_stats = KgmmStatisticsOf(run.result.weights, run.result.means);
  ASSERT_TRUE(PredictKgmm(run.params, final_stats, {0.0}, o, &at_final).ok());
  GaussianMixture mixture;
  ASSERT_TRUE(BuildMixture(spec, &mixture).ok());
  const SampleSet test = DrawTestSample(spec, mixture, nullptr);
  const RowMatrix logits = test.inputs * run.result.weights.transpose();
  VectorXd probs(4);
  double sum = 0, sum_sq = 0;
  for (long j = 0; j < test.size(); ++j) {
    const double loss =
        StableSoftmax(logits.row(j).data(), 4, probs.data()) - logits(j, test.labels[j]);
    sum += loss;
    sum_sq += loss * loss;
  }
  const double m = test.size();
  EXPECT_NEAR(sum / m, run.result.final_test_loss, 1e-9);  // the same sample as the run's
  const double loss_se = std::sqrt((sum_sq / m - (sum / m) * (sum / m)) / m);
  EXPECT_NEAR(run.result.final_test_loss, at_final.points[0].test_loss, 4.5 * loss_se);
  const double acc = at_final.points[0].test_accuracy;
  EXPECT_NEAR(run.result.final_test_accuracy, acc,
              4.5 * std::sqrt(acc * (1 - acc) / m) + at_final.accuracy_error);
}

TEST(EffectiveDynamicsTest, PredictionIsDeterministic) {
  const ExperimentSpec spec = KgmmSpec(500, 3);
  KgmmDynamicsParams p;
  KgmmStatistics initial;
  ASSERT_TRUE(KgmmParamsFromSpec(spec, &p).ok());
  ASSERT_TRUE(InitialKgmmStatistics(spec, &initial).ok());
  EffectiveDynamicsOptions o;
  o.fluctuations = true;
  KgmmPrediction x, y;
  ASSERT_TRUE(PredictKgmm(p, initial, {1.0, 5.0}, o, &x).ok());
  ASSERT_TRUE(PredictKgmm(p, initial, {1.0, 5.0}, o, &y).ok());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(x.points[i].stats.m, y.points[i].stats.m);
    EXPECT_EQ(x.points[i].stats.r, y.points[i].stats.r);
    EXPECT_EQ(x.points[i].fluctuation, y.points[i].fluctuation);
    EXPECT_EQ(x.points[i].test_accuracy, y.points[i].test_accuracy);
  }
  EXPECT_EQ(x.limit.stats.r, y.limit.stats.r);
  EXPECT_EQ(x.limit.time, y.limit.time);
  // The limit is a fixed point: small drift, beta > 0 keeps it bounded.
  EXPECT_TRUE(x.limit_converged);
  EXPECT_LT(x.limit.drift_norm, 1e-7);
  EXPECT_LT(x.quadrature_error, 1e-6);
}

TEST(EffectiveDynamicsTest, RejectsBadInput) {
  KgmmDynamicsParams p;
  KgmmStatistics s{MatrixXd::Zero(4, 4), MatrixXd::Identity(4, 4)};
  KgmmPrediction out;
  EXPECT_EQ(PredictKgmm(p, s, {2.0, 1.0}, EffectiveDynamicsOptions(), &out).code(),
            StatusCode::kInvalidArgument);
  s.m.resize(3, 3);
  EXPECT_EQ(PredictKgmm(p, s, {1.0}, EffectiveDynamicsOptions(), &out).code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Task B: the drift against the expected increment of TwoLayerSgdStep, by Monte Carlo.
TEST(EffectiveDynamicsTest, XorDriftIsTheExpectedSgdIncrement) {
  const long d = 1000;
  const int k = 4;
  XorDynamicsParams p;
  p.hidden = k;
  p.snr = 10;
  p.ridge = 0.1;
  p.c_delta = 3;
  const GaussianMixture mixture = GaussianMixture::MakeXor(d, p.snr, 4, kLatestRandomStreamVersion);
  const VectorXd mu = mixture.centers().row(0).transpose(),
                 nu = mixture.centers().row(2).transpose();
  TwoLayerParams x;
  x.w.resize(k, d);
  x.v.resize(k);
  Rng rng(6, RngStream::kInit);
  const double coef[4][3] = {
      {1.2, 0.3, 1.5}, {-0.4, 1.0, -1.2}, {0.7, -0.9, 0.8}, {0.1, 0.2, -0.5}};
  for (int i = 0; i < k; ++i) {
    for (long j = 0; j < d; ++j) x.w(i, j) = 0.7 * rng.Normal() / std::sqrt(d);
    x.w.row(i) += coef[i][0] * mu.transpose() + coef[i][1] * nu.transpose();
    x.v[i] = coef[i][2];
  }
  const XorStatistics s0 = XorStatisticsOf(x.w, x.v, mu, nu);
  const double step = p.c_delta / d;
  const long n = 40000;
  VectorXd sum = VectorXd::Zero(3 * k + k * k), sq = sum, y(d), scratch(2 * k);
  Rng sample_rng(12, RngStream::kSgdSamples);
  for (long t = 0; t < n; ++t) {
    TwoLayerParams w = x;
    const int cluster = mixture.Draw(sample_rng, y.data());
    TwoLayerSgdStep(w, y.data(), mixture.cluster_labels()[cluster], step, p.ridge, scratch.data());
    const XorStatistics s1 = XorStatisticsOf(w.w, w.v, mu, nu);
    VectorXd inc(3 * k + k * k);
    inc << s1.a - s0.a, s1.b - s0.b, s1.v - s0.v,
        Eigen::Map<const VectorXd>(MatrixXd(s1.q - s0.q).data(), k * k);
    inc /= step;
    sum += inc;
    sq += inc.cwiseAbs2();
  }
  const VectorXd mean = sum / n, se = ((sq / n - mean.cwiseAbs2()) / n).cwiseSqrt();
  // The error bar adds the lattice's own error: the change from 2^13 to 2^15 points.
  EffectiveDynamicsOptions fine, coarse;
  fine.xor_lattice_points = 1 << 15;
  XorStatistics f, g;
  ASSERT_TRUE(XorDrift(p, s0, fine, &f).ok());
  ASSERT_TRUE(XorDrift(p, s0, coarse, &g).ok());
  VectorXd predicted(3 * k + k * k), other(3 * k + k * k);
  predicted << f.a, f.b, f.v, Eigen::Map<const VectorXd>(f.q.data(), k * k);
  other << g.a, g.b, g.v, Eigen::Map<const VectorXd>(g.q.data(), k * k);
  for (long i = 0; i < mean.size(); ++i) {
    EXPECT_NEAR(predicted[i], mean[i], 4.5 * se[i] + std::abs(predicted[i] - other[i]))
        << "entry " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// The closing tables: SGDSPECTRA_THEORY_SWEEP=1 (a minute or two on 2 cores).
bool SweepEnabled() {
  const char* env = std::getenv("SGDSPECTRA_THEORY_SWEEP");
  return env != nullptr && env[0] == '1';
}

TEST(EffectiveDynamicsSweep, KgmmTableAndGapVersusDimension) {
  if (!SweepEnabled()) GTEST_SKIP() << "set SGDSPECTRA_THEORY_SWEEP=1";
  const KgmmRunAndPrediction run = RunAndPredict(KgmmSpec(2000, 1), true);
  std::printf("k-GMM d=2000 k=4 lambda=20 beta=0.1 c=1 seed 1: measured / predicted (sd)\n");
  std::printf("%6s %18s %18s %18s %18s %16s %16s\n", "t", "m_00", "m_01", "|x^0|", "off-mean_0",
              "test acc", "test loss");
  const double scale = 1.0 / 2000;
  for (size_t i = 0; i < run.snapshots.size(); ++i) {
    const Snapshot& s = run.snapshots[i];
    const KgmmPredictionPoint& q = run.prediction.points[i];
    const MatrixXd& p = q.fluctuation;
    std::printf(
        "%6.2f %7.4f/%7.4f(%.3f) %7.4f/%7.4f(%.3f) %7.4f/%7.4f(%.3f) %7.4f/%7.4f %7.4f/%7.4f "
        "%7.4f/%7.4f\n",
        s.time, s.weight_mean_products[0], q.stats.m(0, 0), std::sqrt(scale * p(0, 0)),
        s.weight_mean_products[1], q.stats.m(0, 1), std::sqrt(scale * p(4, 4)), s.weight_norms[0],
        q.weight_norms[0], std::sqrt(scale * p(16, 16)) / (2 * q.weight_norms[0]),
        s.off_mean_norms[0], q.off_mean_norms[0], s.test_accuracy, q.test_accuracy, s.test_loss,
        q.test_loss);
  }
  KgmmPrediction limit;
  KgmmStatistics initial;
  ASSERT_TRUE(InitialKgmmStatistics(KgmmSpec(2000, 1), &initial).ok());
  ASSERT_TRUE(PredictKgmm(run.params, initial, {20.0}, EffectiveDynamicsOptions(), &limit).ok());
  std::printf(
      "limit: t=%.0f converged=%d drift=%.1e |x^0|=%.4f off-mean=%.4f align=%.4f "
      "acc=%.4f loss=%.4f (quadrature err %.1e, accuracy err %.1e)\n",
      limit.limit.time, limit.limit_converged, limit.limit.drift_norm, limit.limit.weight_norms[0],
      limit.limit.off_mean_norms[0], limit.limit.alignment[0], limit.limit.test_accuracy,
      limit.limit.test_loss, limit.quadrature_error, limit.accuracy_error);
  std::printf("%6s %14s %14s %12s\n", "d", "mean |err|", "err*sqrt(d)", "mean z^2");
  for (long d : {250L, 500L, 1000L, 2000L}) {
    double error = 0, z2 = 0;
    long nz = 0;
    const int seeds = 4;
    for (int seed = 1; seed <= seeds; ++seed) {
      const KgmmRunAndPrediction r =
          seed == 1 && d == 2000 ? run : RunAndPredict(KgmmSpec(d, seed), false);
      error += MeanAbsoluteError(r) / seeds;
      for (double z : StandardisedErrors(r, run.prediction, d)) {
        z2 += z * z;
        ++nz;
      }
    }
    std::printf("%6ld %14.5f %14.4f %12.3f\n", d, error, error * std::sqrt(d), z2 / nz);
  }
}

TEST(EffectiveDynamicsSweep, XorTable) {
  if (!SweepEnabled()) GTEST_SKIP() << "set SGDSPECTRA_THEORY_SWEEP=1";
  for (long d : {250L, 500L, 1000L, 2000L}) {
    double error = 0;
    long n = 0;
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      ExperimentSpec spec;
      spec.task = TaskKind::kXor;
      spec.seed = seed;
      spec.xor_task.dim = d;
      spec.sgd.t_end = 20;
      spec.schedule.num_points = 6;
      spec.analysis.class_blocks = false;
      spec.analysis.full_matrices = false;
      SnapshotRecorder rec;
      ASSERT_TRUE(RunExperiment(spec, &rec, nullptr).status.ok());
      XorDynamicsParams p;
      XorStatistics initial;
      ASSERT_TRUE(XorParamsFromSpec(spec, &p).ok());
      ASSERT_TRUE(InitialXorStatistics(spec, &initial).ok());
      std::vector<double> times;
      for (const Snapshot& s : rec.snapshots) times.push_back(s.time);
      XorPrediction pred;
      EffectiveDynamicsOptions o;
      o.compute_limit = d == 2000 && seed == 1;
      const Status st = PredictXor(p, initial, times, o, &pred);
      ASSERT_TRUE(st.ok()) << st.ToString();
      const bool print = d == 2000 && seed == 1;
      if (print) {
        std::printf("XOR d=2000 K=4 lambda=1000 alpha=0.1 c=1 seed 1: measured / predicted\n");
        std::printf("%6s %17s %17s %17s %17s %15s\n", "t", "W_0.mu", "W_0.nu", "|W_0|", "v_0",
                    "test acc");
      }
      for (size_t i = 0; i < times.size(); ++i) {
        const Snapshot& s = rec.snapshots[i];
        const XorPredictionPoint& q = pred.points[i];
        for (int j = 0; j < 4; ++j) {
          if (i > 0) {
            error += std::abs(s.weight_mean_products[2 * j] - q.stats.a[j]) +
                     std::abs(s.weight_mean_products[2 * j + 1] - q.stats.b[j]) +
                     std::abs(s.weight_norms[j] - q.weight_norms[j]) +
                     std::abs(s.second_layer_weights[j] - q.stats.v[j]);
            n += 4;
          }
        }
        if (print) {
          std::printf("%6.2f %8.4f/%8.4f %8.4f/%8.4f %8.4f/%8.4f %8.4f/%8.4f %7.4f/%7.4f\n", s.time,
                      s.weight_mean_products[0], q.stats.a[0], s.weight_mean_products[1],
                      q.stats.b[0], s.weight_norms[0], q.weight_norms[0], s.second_layer_weights[0],
                      q.stats.v[0], s.test_accuracy, q.test_accuracy);
        }
      }
      if (print) {
        std::printf("limit t=%.0f converged=%d drift=%.1e acc=%.4f quadrature err %.1e\n",
                    pred.limit.time, pred.limit_converged, pred.limit.drift_norm,
                    pred.limit.test_accuracy, pred.quadrature_error);
      }
    }
    std::printf("XOR d=%ld mean |err| over 3 seeds %.5f (x sqrt(d): %.3f)\n", d, error / n,
                error / n * std::sqrt(d));
  }
}

}  // namespace
}  // namespace sgdspectra
