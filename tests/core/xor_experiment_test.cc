// Issue 4's scientific checks at small scale: per-neuron outliers and alignment, the second
// layer's outliers at initialisation, and the rank-deficient final layer.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "sgdspectra/core/experiment.h"
#include "snapshot_recorder.h"

namespace sgdspectra {
namespace {

const SpectrumReport* Find(const Snapshot& s, MatrixKind m, BlockKind b, int index) {
  for (const SpectrumReport& r : s.spectra) {
    if (r.matrix == m && r.block == b && r.block_index == index) return &r;
  }
  return nullptr;
}

// X1's setting (d = 250, K = 4, lambda = 1000, alpha = 0.1, c_delta = 1) with t up to 80.
ExperimentSpec XorSpecForSeed(uint64_t seed) {
  ExperimentSpec spec;
  spec.task = TaskKind::kXor;
  spec.seed = seed;
  spec.sgd.t_end = 80;
  spec.schedule.num_points = 4;
  spec.analysis.full_matrices = false;  // the per-neuron and second-layer blocks suffice here
  return spec;
}

int CountCovered(const ClassifierRank& rank) {
  return std::accumulate(rank.covered_clusters.begin(), rank.covered_clusters.end(), 0);
}

TEST(XorExperimentTest, NeuronBlocksHaveTwoOutliersAlongTheMeansAndWeightsAlign) {
  SnapshotRecorder rec;
  const ExperimentResult r = RunExperiment(XorSpecForSeed(22), &rec, nullptr);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  const Snapshot& first = rec.snapshots.front();
  const Snapshot& last = rec.snapshots.back();
  for (int i = 0; i < 4; ++i) {
    const SpectrumReport* h0 = Find(first, MatrixKind::kHessian, BlockKind::kNeuron, i);
    const SpectrumReport* h1 = Find(last, MatrixKind::kHessian, BlockKind::kNeuron, i);
    ASSERT_NE(h0, nullptr);
    ASSERT_NE(h1, nullptr);
    EXPECT_EQ(h1->outlier_count, 2) << "neuron " << i;
    EXPECT_GT(h1->overlap_with_means, 0.99) << "neuron " << i;
    EXPECT_LT(h0->alignment_at_expected, 0.2) << "neuron " << i;
    EXPECT_GT(h1->alignment_at_expected, 0.95) << "neuron " << i;
  }
  EXPECT_EQ(last.num_means, 2);
  EXPECT_EQ(last.second_layer_weights.size(), 4u);
}

TEST(XorExperimentTest, SecondLayerHasNoOutliersAtInitialisation) {
  for (uint64_t seed : {0, 1, 2, 3, 4, 5}) {
    ExperimentSpec spec = XorSpecForSeed(seed);
    spec.sgd.t_end = 0;  // the t = 0 snapshot only
    spec.analysis.class_blocks = false;
    SnapshotRecorder rec;
    ASSERT_TRUE(RunExperiment(spec, &rec, nullptr).status.ok());
    ASSERT_EQ(rec.snapshots.size(), 1u);
    for (MatrixKind m : {MatrixKind::kHessian, MatrixKind::kGMatrix}) {
      const SpectrumReport* layer2 = Find(rec.snapshots[0], m, BlockKind::kSecondLayer, -1);
      ASSERT_NE(layer2, nullptr);
      EXPECT_EQ(layer2->outlier_count, 0) << "seed " << seed;
      EXPECT_EQ(layer2->edge_method, OutlierMethod::kDecoyNull);
    }
  }
}

// Seeds chosen by final test accuracy alone (the rank claims below are then checked, not
// chosen), among 0..63 with random stream version 2, where 3 of 64 reach the optimum: seed 6
// reaches test accuracy 1.0; seed 2 ends at a sub-optimal classifier (about 0.82). (Version 1
// dealt 7 of 64, seed 22 among them.) The version is pinned, as a new stream re-deals which
// seeds succeed.
TEST(XorExperimentTest, OptimalRunHasFourSecondLayerOutliersSubOptimalFewer) {
  ExperimentSpec good_spec = XorSpecForSeed(6), bad_spec = XorSpecForSeed(2);
  good_spec.random_stream_version = 2;
  bad_spec.random_stream_version = 2;
  SnapshotRecorder good_rec, bad_rec;
  const ExperimentResult good = RunExperiment(good_spec, &good_rec, nullptr);
  const ExperimentResult bad = RunExperiment(bad_spec, &bad_rec, nullptr);
  ASSERT_TRUE(good.has_rank);
  ASSERT_TRUE(bad.has_rank);

  EXPECT_GT(good.final_test_accuracy, 0.99);
  EXPECT_EQ(good.final_rank.outlier_rank, 4);
  EXPECT_EQ(good.final_rank.expected_rank, 4);
  EXPECT_FALSE(good.final_rank.rank_deficient);
  EXPECT_EQ(CountCovered(good.final_rank), good.final_rank.outlier_rank);

  EXPECT_LT(bad.final_test_accuracy, 0.99);
  EXPECT_LE(bad.final_rank.outlier_rank, 3);
  EXPECT_TRUE(bad.final_rank.rank_deficient);
  EXPECT_EQ(CountCovered(bad.final_rank), bad.final_rank.outlier_rank);

  // Outliers emerge over time in the successful run: none at t = 0.
  const SpectrumReport* start =
      Find(good_rec.snapshots.front(), MatrixKind::kHessian, BlockKind::kSecondLayer, -1);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->outlier_count, 0);
}

TEST(XorExperimentTest, FullAndFirstLayerMatricesAreAnalysedWithGradientOverlap) {
  ExperimentSpec spec = XorSpecForSeed(22);
  spec.xor_task.dim = 60;
  spec.sgd.t_end = 10;
  spec.schedule.num_points = 2;
  spec.analysis.full_matrices = true;
  SnapshotRecorder rec;
  ASSERT_TRUE(RunExperiment(spec, &rec, nullptr).status.ok());
  const Snapshot& last = rec.snapshots.back();
  const SpectrumReport* layer1 = Find(last, MatrixKind::kHessian, BlockKind::kFirstLayer, -1);
  const SpectrumReport* full = Find(last, MatrixKind::kHessian, BlockKind::kFull, -1);
  ASSERT_NE(layer1, nullptr);
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(layer1->solver.converged, layer1->solver.requested);
  EXPECT_EQ(full->solver.converged, full->solver.requested);
  EXPECT_EQ(last.gradient_overlap_rank, 4);
  EXPECT_GE(last.gradient_overlap, 0.0);
  EXPECT_LE(last.gradient_overlap, 1.0 + 1e-12);
}

TEST(XorExperimentTest, ThreadCountDoesNotChangeResults) {
  ExperimentSpec one = XorSpecForSeed(5), two = XorSpecForSeed(5);
  one.xor_task.dim = two.xor_task.dim = 80;
  one.sgd.t_end = two.sgd.t_end = 5;
  one.analysis.full_matrices = two.analysis.full_matrices = true;
  two.analysis.threads = 2;
  SnapshotRecorder a, b;
  ASSERT_TRUE(RunExperiment(one, &a, nullptr).status.ok());
  ASSERT_TRUE(RunExperiment(two, &b, nullptr).status.ok());
  ASSERT_EQ(a.snapshots.size(), b.snapshots.size());
  for (size_t i = 0; i < a.snapshots.size(); ++i) {
    ASSERT_EQ(a.snapshots[i].spectra.size(), b.snapshots[i].spectra.size());
    for (size_t j = 0; j < a.snapshots[i].spectra.size(); ++j) {
      EXPECT_EQ(a.snapshots[i].spectra[j].top_eigenvalues,
                b.snapshots[i].spectra[j].top_eigenvalues);
      EXPECT_EQ(a.snapshots[i].spectra[j].bulk_edge, b.snapshots[i].spectra[j].bulk_edge);
    }
  }
}

}  // namespace
}  // namespace sgdspectra
