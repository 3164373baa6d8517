#include "sgdspectra/core/experiment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace sgdspectra {
namespace {

class Recorder : public ExperimentObserver {
 public:
  bool OnSnapshot(const Snapshot& s) override {
    snapshots.push_back(s);
    return stop_after < 0 || static_cast<int>(snapshots.size()) < stop_after;
  }
  bool OnProgress(long done, long total, double) override {
    EXPECT_LE(done, total);
    ++progress_calls;
    return true;
  }
  std::vector<Snapshot> snapshots;
  int progress_calls = 0;
  int stop_after = -1;
};

const SpectrumReport* Find(const Snapshot& s, MatrixKind m, BlockKind b, int index) {
  for (const SpectrumReport& r : s.spectra) {
    if (r.matrix == m && r.block == b && r.block_index == index) return &r;
  }
  return nullptr;
}

// The small K1-type run of issue 2: d = 200, k = 3, lambda = 50, t up to 20.
ExperimentSpec SmallK1Spec() {
  ExperimentSpec spec;
  spec.seed = 2024;
  spec.kgmm.dim = 200;
  spec.kgmm.num_classes = 3;
  spec.kgmm.snr = 50;
  spec.sgd.t_end = 20;
  spec.schedule.num_points = 6;
  return spec;
}

TEST(ExperimentTest, SmallK1RunAlignsWithClassBlockOutliers) {
  Recorder rec;
  const ExperimentResult result = RunExperiment(SmallK1Spec(), &rec, nullptr);
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  ASSERT_EQ(rec.snapshots.size(), 6u);
  const Snapshot& first = rec.snapshots.front();
  const Snapshot& last = rec.snapshots.back();
  EXPECT_EQ(first.step, 0);
  EXPECT_DOUBLE_EQ(last.time, 20.0);
  for (int c = 0; c < 3; ++c) {
    const SpectrumReport* h0 = Find(first, MatrixKind::kHessian, BlockKind::kClass, c);
    const SpectrumReport* h1 = Find(last, MatrixKind::kHessian, BlockKind::kClass, c);
    ASSERT_NE(h0, nullptr);
    ASSERT_NE(h1, nullptr);
    EXPECT_EQ(h1->outlier_count, 3) << "class " << c;
    EXPECT_EQ(h1->solver.converged, h1->solver.requested);
    EXPECT_GT(h1->overlap_with_means, 0.9);
    EXPECT_LT(h0->alignment_at_expected, 0.4);
    EXPECT_GT(h1->alignment_at_expected, 0.9);
  }
  EXPECT_GT(last.test_accuracy, 0.95);
  EXPECT_GT(rec.progress_calls, 0);
  // Full Hessian: rank(diag(pi) - pi pi^T) = k - 1, so up to k(k-1) outliers.
  const SpectrumReport* full = Find(last, MatrixKind::kHessian, BlockKind::kFull, -1);
  ASSERT_NE(full, nullptr);
  EXPECT_LE(full->outlier_count, 6);
  EXPECT_GE(full->outlier_count, 3);
  ASSERT_TRUE(result.has_rank);
  EXPECT_EQ(result.final_rank.outlier_rank, 3);
  EXPECT_EQ(result.final_rank.expected_rank, 3);
  EXPECT_FALSE(result.final_rank.rank_deficient);
  EXPECT_EQ(result.weights.rows(), 3);
  EXPECT_EQ(result.weights.cols(), 200);
}

void ExpectSameSnapshots(const std::vector<Snapshot>& a, const std::vector<Snapshot>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].step, b[i].step);
    EXPECT_EQ(a[i].test_loss, b[i].test_loss);
    EXPECT_EQ(a[i].train_loss, b[i].train_loss);
    EXPECT_EQ(a[i].gradient_overlap, b[i].gradient_overlap);
    EXPECT_EQ(a[i].weight_mean_products, b[i].weight_mean_products);
    ASSERT_EQ(a[i].spectra.size(), b[i].spectra.size());
    for (size_t j = 0; j < a[i].spectra.size(); ++j) {
      const SpectrumReport& x = a[i].spectra[j];
      const SpectrumReport& y = b[i].spectra[j];
      EXPECT_EQ(x.top_eigenvalues, y.top_eigenvalues);
      EXPECT_EQ(x.bulk_edge, y.bulk_edge);
      EXPECT_EQ(x.outlier_count, y.outlier_count);
      EXPECT_EQ(x.alignment_at_expected, y.alignment_at_expected);
      EXPECT_EQ(x.overlap_with_means, y.overlap_with_means);
      EXPECT_EQ(x.solver.products, y.solver.products);
    }
  }
}

ExperimentSpec SmallSpec() {
  ExperimentSpec spec;
  spec.seed = 7;
  spec.kgmm.dim = 120;
  spec.kgmm.num_classes = 3;
  spec.kgmm.snr = 30;
  spec.sgd.t_end = 3;
  spec.schedule.num_points = 3;
  return spec;
}

TEST(ExperimentTest, SameSeedGivesBitIdenticalSnapshots) {
  Recorder a, b;
  ASSERT_TRUE(RunExperiment(SmallSpec(), &a, nullptr).status.ok());
  ASSERT_TRUE(RunExperiment(SmallSpec(), &b, nullptr).status.ok());
  ExpectSameSnapshots(a.snapshots, b.snapshots);
}

TEST(ExperimentTest, ThreadCountDoesNotChangeResults) {
  ExperimentSpec one = SmallSpec(), two = SmallSpec();
  two.analysis.threads = 2;
  Recorder a, b;
  const ExperimentResult ra = RunExperiment(one, &a, nullptr);
  const ExperimentResult rb = RunExperiment(two, &b, nullptr);
  ASSERT_TRUE(ra.status.ok());
  ASSERT_TRUE(rb.status.ok());
  ExpectSameSnapshots(a.snapshots, b.snapshots);
  EXPECT_EQ(ra.weights, rb.weights);
}

// analysis.solver_seed changes only the Krylov start vectors: the job's seed written out gives
// the same bits as 0; another seed gives the same SGD path and spectra that agree to the
// solvers' tolerances. Converged Ritz values with relative residual <= tol lie within
// tol * |lambda| of an eigenvalue, and both runs converge the same outliers, so 1e-8 relative
// (tol = 1e-10, with room for the lifted Gram-form values) bounds their difference; the null
// edges are solved at null_tol = 1e-4, so they agree to 1e-4 relative.
TEST(ExperimentTest, SolverSeedChangesOnlyTheStartVectors) {
  ExperimentSpec explicit_seed = SmallSpec(), other = SmallSpec();
  explicit_seed.analysis.solver_seed = explicit_seed.seed;
  other.analysis.solver_seed = 12345;
  Recorder base, same, moved;
  ASSERT_TRUE(RunExperiment(SmallSpec(), &base, nullptr).status.ok());
  ASSERT_TRUE(RunExperiment(explicit_seed, &same, nullptr).status.ok());
  ASSERT_TRUE(RunExperiment(other, &moved, nullptr).status.ok());
  ExpectSameSnapshots(base.snapshots, same.snapshots);

  ASSERT_EQ(base.snapshots.size(), moved.snapshots.size());
  long bits_differ = 0;
  for (size_t i = 0; i < base.snapshots.size(); ++i) {
    const Snapshot& a = base.snapshots[i];
    const Snapshot& b = moved.snapshots[i];
    EXPECT_EQ(a.test_loss, b.test_loss);  // same SGD path, bit for bit
    ASSERT_EQ(a.spectra.size(), b.spectra.size());
    for (size_t j = 0; j < a.spectra.size(); ++j) {
      const SpectrumReport& x = a.spectra[j];
      const SpectrumReport& y = b.spectra[j];
      EXPECT_NEAR(y.bulk_edge, x.bulk_edge, 1e-4 * std::abs(x.bulk_edge));
      ASSERT_EQ(x.outlier_count, y.outlier_count) << "snapshot " << i << " spectrum " << j;
      for (int r = 0; r < x.outlier_count; ++r) {
        EXPECT_NEAR(y.top_eigenvalues[r], x.top_eigenvalues[r],
                    1e-8 * std::abs(x.top_eigenvalues[r]));
      }
      bits_differ += x.top_eigenvalues != y.top_eigenvalues;
    }
  }
  EXPECT_GT(bits_differ, 0);  // the solves did start elsewhere
}

TEST(ExperimentTest, DifferentSeedsGiveDifferentRuns) {
  ExperimentSpec other = SmallSpec();
  other.seed = 8;
  Recorder a, b;
  RunExperiment(SmallSpec(), &a, nullptr);
  RunExperiment(other, &b, nullptr);
  EXPECT_NE(a.snapshots.back().test_loss, b.snapshots.back().test_loss);
}

TEST(ExperimentTest, CancelHookStopsTheRun) {
  int polls = 0;
  Recorder rec;
  const ExperimentResult r = RunExperiment(SmallSpec(), &rec, [&] { return ++polls > 3; });
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled);
  EXPECT_FALSE(r.has_rank);
  EXPECT_LT(r.steps_done, SmallSpec().ResolvedSteps());
}

TEST(ExperimentTest, ObserverCanStopAfterASnapshot) {
  Recorder rec;
  rec.stop_after = 1;
  const ExperimentResult r = RunExperiment(SmallSpec(), &rec, nullptr);
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled);
  EXPECT_EQ(rec.snapshots.size(), 1u);
  EXPECT_EQ(r.weights.rows(), 3);  // the weights reached are still returned
}

TEST(ExperimentTest, DivergingDynamicsFailWithNumericalError) {
  ExperimentSpec spec = SmallSpec();
  spec.sgd.step_size = 10;  // (1 - step * ridge) = -9999 per step: overflows within ~80 steps
  spec.kgmm.ridge = 1000;
  spec.sgd.steps = 2000;
  Recorder rec;
  const ExperimentResult r = RunExperiment(spec, &rec, nullptr);
  EXPECT_EQ(r.status.code(), StatusCode::kNumericalError) << r.status.ToString();
}

TEST(ExperimentTest, InvalidSpecIsRejectedBeforeRunning) {
  ExperimentSpec spec = SmallSpec();
  spec.kgmm.dim = 0;
  Recorder rec;
  const ExperimentResult r = RunExperiment(spec, &rec, nullptr);
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(rec.snapshots.empty());
}

TEST(ExperimentTest, TestSampleIsReproducibleFromTheSpec) {
  GaussianMixture m1, m2;
  ASSERT_TRUE(BuildMixture(SmallSpec(), &m1).ok());
  ASSERT_TRUE(BuildMixture(SmallSpec(), &m2).ok());
  ThreadPool one(1), two(2);
  const SampleSet a = DrawTestSample(SmallSpec(), m1, &one);
  const SampleSet b = DrawTestSample(SmallSpec(), m2, &two);
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.size(), SmallSpec().TestSampleSize());
}

TEST(ExperimentTest, GeneralMeansFollowTheRequestedGram) {
  ExperimentSpec spec = SmallSpec();
  spec.kgmm.mean_gram = {2.0, 0.5, 0.0, 0.5, 1.0, 0.2, 0.0, 0.2, 1.5};
  GaussianMixture mixture;
  ASSERT_TRUE(BuildMixture(spec, &mixture).ok());
  const MatrixXd gram = mixture.centers() * mixture.centers().transpose();
  const MatrixXd expected = Eigen::Map<const RowMatrix>(spec.kgmm.mean_gram.data(), 3, 3);
  EXPECT_LT((gram - expected).cwiseAbs().maxCoeff(), 1e-12);
}

}  // namespace
}  // namespace sgdspectra

namespace sgdspectra {
namespace {

// analysis.density_probes: every block carries its spectral density; the estimates agree with
// what the same run's other numbers say about them, from independent probes.
TEST(ExperimentDensityTest, EveryBlockHasADensityConsistentWithItsEigenvalues) {
  ExperimentSpec spec;
  spec.seed = 7;
  spec.kgmm.dim = 60;  // M = 120 < kd = 180: the full G is solved in its Gram form
  spec.kgmm.num_classes = 3;
  spec.kgmm.snr = 50;
  spec.sgd.t_end = 3;
  spec.schedule.num_points = 2;
  spec.analysis.density_probes = 12;
  spec.analysis.density_steps = 25;
  Recorder rec;
  const ExperimentResult result = RunExperiment(spec, &rec, nullptr);
  ASSERT_TRUE(result.status.ok()) << result.status.ToString();
  for (const Snapshot& s : rec.snapshots) {
    double class_trace = 0, class_variance = 0;
    for (const SpectrumReport& r : s.spectra) {
      ASSERT_TRUE(r.has_density);
      const SpectralDensityEstimate& e = r.density;
      double total = 0;
      for (double w : e.node_weights) total += w;
      EXPECT_NEAR(total, 1.0, 1e-12);
      // Lanczos finds the extreme eigenvalues first: the largest node is the top eigenvalue.
      const double top_node = *std::max_element(e.node_values.begin(), e.node_values.end());
      EXPECT_NEAR(top_node / r.top_eigenvalues[0], 1.0, 1e-6);
      if (r.matrix == MatrixKind::kGMatrix && r.block == BlockKind::kClass) {
        class_trace += e.trace;
        class_variance += e.trace_stderr * e.trace_stderr;
      }
      if (r.matrix == MatrixKind::kGMatrix && r.block == BlockKind::kFull) {
        // The Gram form's missing zeros: 180 - 120 of 180 eigenvalues, one node at 0.
        EXPECT_EQ(e.node_values.back(), 0.0);
        EXPECT_NEAR(e.node_weights.back(), 60.0 / 180.0, 1e-12);
      }
    }
    // tr G = sum of the class blocks' traces: independent Hutchinson estimates of both sides
    // agree within four combined standard errors.
    const SpectrumReport* full = Find(s, MatrixKind::kGMatrix, BlockKind::kFull, -1);
    ASSERT_NE(full, nullptr);
    const double spread =
        std::sqrt(class_variance + full->density.trace_stderr * full->density.trace_stderr);
    EXPECT_NEAR(class_trace, full->density.trace, 4 * spread + 1e-12) << "step " << s.step;
  }
}

}  // namespace
}  // namespace sgdspectra
