// Small-scale statistical versions of the reproduction rows (docs/SCIENCE.md) K2, K3, X2 and X3
// (the full-scale rows are tests/paper/, label `paper`). Each test runs several seeds at a scale
// where one run takes a fraction of a second, asserts the row's claim for every seed with a
// threshold derived from the theory (the derivation is beside it), and prints what it measured.
//
// Scale. K2/K3 run at d = 200 (full scale 400): every asserted quantity is d-independent at
// leading order (see SmallKgmmSpec), so halving d only adds O(1/sqrt(d)) fluctuations. X3 runs at
// SPEC's own scale (d = 250), and so does X2's claim at t = 0 (see there why not smaller).
// X2's claim at the end runs at d = 100 (full scale 250) so that 128 seeds to t = 80 fit in about
// 2 s: it needs runs that reach the optimum, and those are about 3/32 of them (measured 11/128
// at d = 100; 7/64 at d = 250).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <utility>
#include <vector>

#include "sgdspectra/core/experiment.h"
#include "snapshot_recorder.h"

namespace sgdspectra {
namespace {

struct RecordedRun {
  ExperimentResult result;
  std::vector<Snapshot> snapshots;
};

RecordedRun RunSpec(const ExperimentSpec& spec) {
  SnapshotRecorder recorder;
  RecordedRun run;
  run.result = RunExperiment(spec, &recorder, nullptr);
  EXPECT_TRUE(run.result.status.ok())
      << "seed " << spec.seed << ": " << run.result.status.ToString();
  run.snapshots = std::move(recorder.snapshots);
  return run;
}

// The Hessian reports of one block kind, in block order.
std::vector<const SpectrumReport*> HessianBlocks(const Snapshot& s, BlockKind kind) {
  std::vector<const SpectrumReport*> out;
  for (const SpectrumReport& r : s.spectra) {
    if (r.matrix == MatrixKind::kHessian && r.block == kind) out.push_back(&r);
  }
  return out;
}

// Mean, minimum and maximum of the values added, for the asserts on means and the printout.
class Stats {
 public:
  void Add(double v) {
    sum_ += v;
    ++count_;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
  }
  double Mean() const { return count_ > 0 ? sum_ / count_ : 0; }
  double Min() const { return min_; }
  double Max() const { return max_; }
  int Count() const { return count_; }

 private:
  double sum_ = 0;
  int count_ = 0;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
};

// ---------------------------------------------------------------------------------------------
// K2, K3: k-GMM, k = 4, lambda = 20 and 100, beta = 0.1, c_delta = 1, M_test = 4d, t to 20.

constexpr long kKgmmDim = 200;
constexpr int kKgmmClasses = 4;
constexpr double kKgmmTestRatio = 4;  // gamma = d / M_test = 1/4
constexpr int kKgmmSeeds = 8;
constexpr int kKgmmSnapshots = 5;  // t = 0, 5, 10, 15, 20
constexpr double kLambdas[] = {20, 100};
constexpr int kNumLambdas = 2;

// Why d = 200 is enough: (1) at t = 0 the alignment of a random x^c with any k-dimensional
// subspace independent of it has align^2 ~ Beta(k/2, (d-k)/2), mean k/d, at every d; (2) the
// top-k eigenspace of H_cc misses span(mu) by the BBP amount, a function of gamma = d/M and lambda
// only (see BbpSubspaceGap); (3) the off-mean part of x^c is driven by the SGD noise: per step
// delta r Z_perp / sqrt(lambda) with delta = c_delta/d, damped at rate delta beta, so its
// stationary |x_perp|^2 ~ delta^2 (d/lambda) E[r^2] / (2 delta beta) = c_delta E[r^2] /
// (2 beta lambda): no d. So 1 - align at the end is O(1/lambda) whatever d.
ExperimentSpec SmallKgmmSpec(uint64_t seed, double lambda) {
  ExperimentSpec spec;
  spec.seed = seed;
  spec.kgmm.dim = kKgmmDim;
  spec.kgmm.num_classes = kKgmmClasses;
  spec.kgmm.snr = lambda;
  spec.kgmm.ridge = 0.1;
  spec.sgd.c_delta = 1;
  spec.sgd.t_end = 20;
  spec.schedule.kind = ScheduleKind::kEverySteps;
  spec.schedule.every_steps = kKgmmDim * 5;  // every dt = 5
  spec.analysis.test_ratio = kKgmmTestRatio;
  spec.analysis.full_matrices = false;  // K2 and K3 read the class blocks of H only
  spec.analysis.g_matrix = false;
  return spec;
}

// BBP (Paul 2007; Benaych-Georges & Nadakuditi 2012 for signal plus independent noise, which
// gives the same formula): a spike of strength theta (in units of the noise variance) estimated
// from M = d / gamma samples has squared eigenvector overlap (1 - gamma/theta^2)/(1 + gamma/theta),
// so 1 - overlap = gamma (1 + theta) / (theta (theta + gamma)). At t = 0 every weight
// pi_c(1 - pi_c) is nearly the same (logits O(1/sqrt(d) + 1/sqrt(lambda))), so H_cc is a multiple
// of the sample second moment of Y, (1/k) sum_a mu_a mu_a^T + I/lambda: k equal spikes with
// theta = lambda / k.
double BbpSubspaceGap(double gamma, double theta) {
  return gamma * (1 + theta) / (theta * (theta + gamma));
}

class SmallKgmmReproductionTest : public ::testing::Test {
 protected:
  // K2 and K3 read the same 2 x 8 runs (about 2 s), made once per test program.
  static void SetUpTestSuite() {
    for (int l = 0; l < kNumLambdas; ++l) {
      runs_[l] = new std::vector<RecordedRun>;
      for (int seed = 0; seed < kKgmmSeeds; ++seed) {
        runs_[l]->push_back(RunSpec(SmallKgmmSpec(seed, kLambdas[l])));
      }
    }
  }
  static void TearDownTestSuite() {
    for (std::vector<RecordedRun>*& runs : runs_) {
      delete runs;
      runs = nullptr;
    }
  }

  // Every run finished with all its snapshots and class blocks (call through
  // ASSERT_NO_FATAL_FAILURE before ClassBlocks).
  static void CheckRuns(int lambda_index) {
    ASSERT_EQ(runs_[lambda_index]->size(), static_cast<size_t>(kKgmmSeeds));
    for (const RecordedRun& run : *runs_[lambda_index]) {
      ASSERT_TRUE(run.result.status.ok()) << run.result.status.ToString();
      ASSERT_EQ(run.snapshots.size(), static_cast<size_t>(kKgmmSnapshots));
      for (const Snapshot& s : run.snapshots) {
        ASSERT_EQ(HessianBlocks(s, BlockKind::kClass).size(), static_cast<size_t>(kKgmmClasses));
      }
    }
  }

  // The class blocks of H at every snapshot of each seed's run: [seed][snapshot][class].
  static std::vector<std::vector<std::vector<const SpectrumReport*>>> ClassBlocks(
      int lambda_index) {
    std::vector<std::vector<std::vector<const SpectrumReport*>>> out;
    for (const RecordedRun& run : *runs_[lambda_index]) {
      out.emplace_back();
      for (const Snapshot& s : run.snapshots) {
        out.back().push_back(HessianBlocks(s, BlockKind::kClass));
      }
    }
    return out;
  }

 private:
  static std::vector<RecordedRun>* runs_[kNumLambdas];
};

std::vector<RecordedRun>* SmallKgmmReproductionTest::runs_[kNumLambdas] = {nullptr, nullptr};

TEST_F(SmallKgmmReproductionTest, K2AlignmentRisesFromRandomToNearOneAndGrowsWithLambda) {
  // The end of the run (t = 20): docs/SCIENCE.md's "about 0.95" (lambda 20) and "about 0.99"
  // (lambda 100) with the full-scale test's tolerances, now for every block of every seed rather
  // than for the mean; by (3) above the value does not depend on d at leading order.
  constexpr double kFinalTarget[kNumLambdas] = {0.95, 0.99};
  constexpr double kFinalTolerance[kNumLambdas] = {0.03, 0.015};
  // t = 0: align^2 ~ Beta(2, 98) (k = 4, d = 200), so P(align > 0.4) = 0.84^98 (1 + 98 x 0.16)
  // = 6e-7 per block.
  constexpr double kInitialMax = 0.4;
  // Mean of align^2 d/k over the 32 blocks: 1 in expectation, one block's standard deviation is
  // sqrt(2/k) = 0.71, so the mean's is 0.125; the window is 4 of them.
  constexpr double kInitialScaledMeanTolerance = 0.5;

  std::vector<double> end_seed_mean[kNumLambdas];
  for (int l = 0; l < kNumLambdas; ++l) {
    ASSERT_NO_FATAL_FAILURE(CheckRuns(l));
    const double lambda = kLambdas[l];
    Stats initial, initial_scaled, end;
    for (const auto& seed_blocks : ClassBlocks(l)) {
      Stats seed_end;
      for (int c = 0; c < kKgmmClasses; ++c) {
        const double a0 = seed_blocks.front()[c]->alignment_at_expected;
        const double a1 = seed_blocks.back()[c]->alignment_at_expected;
        EXPECT_LT(a0, kInitialMax) << "lambda " << lambda << " class " << c;
        EXPECT_NEAR(a1, kFinalTarget[l], kFinalTolerance[l])
            << "lambda " << lambda << " class " << c;
        initial.Add(a0);
        initial_scaled.Add(a0 * a0 * kKgmmDim / kKgmmClasses);
        end.Add(a1);
        seed_end.Add(a1);
      }
      end_seed_mean[l].push_back(seed_end.Mean());
    }
    EXPECT_NEAR(initial_scaled.Mean(), 1.0, kInitialScaledMeanTolerance) << "lambda " << lambda;
    std::printf(
        "K2 lambda=%g: t=0 align mean %.3f max %.3f (mean align^2 d/k = %.3f); t=20 align "
        "mean %.4f min %.4f max %.4f\n",
        lambda, initial.Mean(), initial.Max(), initial_scaled.Mean(), end.Mean(), end.Min(),
        end.Max());
  }
  // Larger lambda, better alignment: paired by seed (same means, initialisation and noise
  // stream; only the noise scale differs), for every seed.
  ASSERT_EQ(end_seed_mean[0].size(), end_seed_mean[1].size());
  Stats gain;
  for (size_t s = 0; s < end_seed_mean[0].size(); ++s) {
    EXPECT_GT(end_seed_mean[1][s], end_seed_mean[0][s]) << "seed " << s;
    gain.Add(end_seed_mean[1][s] - end_seed_mean[0][s]);
  }
  std::printf("K2 align(lambda=100) - align(lambda=20) at t=20 per seed: min %.4f mean %.4f\n",
              gain.Min(), gain.Mean());
}

TEST_F(SmallKgmmReproductionTest, K3OverlapIsOneMinusOrderOneOverLambdaAndFlatInTime) {
  // t = 0: the mean of 1 - overlap matches BBP within 15%: the per-seed mean scatters by about
  // 4% (so 1.5% for 8 seeds) and finite-size corrections are O(1/sqrt(d)) = 7%.
  constexpr double kBbpRelativeTolerance = 0.15;
  // Every block, every snapshot: 1 - overlap <= C / lambda with C = 3. BBP gives C = 1.14
  // (lambda 20) and 1.03 (lambda 100) at t = 0; during training the weights pi_c(1 - pi_c)
  // differ between classes, which weakens some spikes (full scale: C up to 1.39). C = 3 is the
  // full-scale test's bound.
  constexpr double kGapConstantMax = 3;
  // 1 - overlap = C / lambda gives a ratio of 5 between lambda = 20 and 100; BBP's next order
  // raises it (5.5 at t = 0). [4, 8] is an exponent in 1/lambda^p of p in [0.86, 1.29]: it tells
  // 1/lambda from 1/sqrt(lambda) (ratio 2.2) and 1/lambda^2 (ratio 25).
  constexpr double kRatioMin = 4, kRatioMax = 8;
  // Near constant in t: over the whole run (while the alignment goes from ~0.1 to ~0.95) each
  // block's overlap moves by less than half its own distance from 1.
  constexpr double kDriftMax = 0.5;

  double gap_mean[kNumLambdas];
  for (int l = 0; l < kNumLambdas; ++l) {
    ASSERT_NO_FATAL_FAILURE(CheckRuns(l));
    const double lambda = kLambdas[l];
    const double bbp = BbpSubspaceGap(1 / kKgmmTestRatio, lambda / kKgmmClasses);
    Stats initial_gap, gap, drift;
    for (const auto& seed_blocks : ClassBlocks(l)) {
      for (int c = 0; c < kKgmmClasses; ++c) {
        double lo = 1, hi = 0;
        for (const auto& blocks : seed_blocks) {
          const double overlap = blocks[c]->overlap_with_means;
          EXPECT_LT((1 - overlap) * lambda, kGapConstantMax) << "lambda " << lambda;
          gap.Add(1 - overlap);
          lo = std::min(lo, overlap);
          hi = std::max(hi, overlap);
        }
        EXPECT_LT(hi - lo, kDriftMax * (1 - hi)) << "lambda " << lambda << " class " << c;
        drift.Add((hi - lo) / (1 - hi));
        initial_gap.Add(1 - seed_blocks.front()[c]->overlap_with_means);
      }
    }
    EXPECT_NEAR(initial_gap.Mean() / bbp, 1.0, kBbpRelativeTolerance) << "lambda " << lambda;
    gap_mean[l] = gap.Mean();
    std::printf(
        "K3 lambda=%g: t=0 (1-overlap) lambda = %.3f (BBP %.3f); all t: (1-overlap) lambda mean "
        "%.3f max %.3f; drift/(1-overlap) mean %.3f max %.3f\n",
        lambda, initial_gap.Mean() * lambda, bbp * lambda, gap.Mean() * lambda, gap.Max() * lambda,
        drift.Mean(), drift.Max());
  }
  const double ratio = gap_mean[0] / gap_mean[1];
  std::printf("K3 (1-overlap) at lambda=20 / at lambda=100 = %.3f\n", ratio);
  EXPECT_GT(ratio, kRatioMin);
  EXPECT_LT(ratio, kRatioMax);
}

// ---------------------------------------------------------------------------------------------
// X2, X3: XOR, K = 4, lambda = 1000, alpha = 0.1, c_delta = 1, t to 80.

constexpr int kHidden = 4;

ExperimentSpec SmallXorSpec(uint64_t seed, long dim) {
  ExperimentSpec spec;
  spec.task = TaskKind::kXor;
  spec.seed = seed;
  spec.xor_task.dim = dim;
  spec.xor_task.hidden = kHidden;
  spec.xor_task.snr = 1000;
  spec.xor_task.ridge = 0.1;
  spec.sgd.c_delta = 1;
  spec.sgd.t_end = 80;
  spec.schedule.num_points = 2;  // t = 0 and t = 80
  spec.analysis.full_matrices = false;
  return spec;
}

// The second layer's report for matrix m (H or G) in snapshot s, or nullptr.
const SpectrumReport* SecondLayer(const Snapshot& s, MatrixKind m) {
  for (const SpectrumReport& r : s.spectra) {
    if (r.matrix == m && r.block == BlockKind::kSecondLayer) return &r;
  }
  return nullptr;
}

// Top eigenvalue over the decoy edge; the block has an outlier when this exceeds
// 1 + second_layer_margin = 4.
double TopOverEdge(const SpectrumReport& r) {
  return r.top_eigenvalues.empty() ? 0 : r.top_eigenvalues[0] / r.bulk_edge;
}

TEST(SmallXorReproductionTest, X2SecondLayerHasNoOutliersAtInitialisation) {
  // W . mu = O(1/sqrt(d)) gives eigenvalues of order 1/d, which the decoy null (the same
  // network on random directions orthogonal to the means) reproduces; an outlier needs a cluster
  // covered by an active neuron. When the 1/d terms dominate the noise floor 1/lambda, the true
  // block and each decoy are nearly identically distributed and top/edge is a ratio of two
  // chi-square-like variables with a tail. Measured over seeds 0..511: top/edge exceeds 4 for the
  // G-matrix in 3 seeds at d = 100 and 2 at d = 50 (H: max 3.84 and 2.93), never at d = 250 or
  // 500 (max H 2.7 and 3.2, G 3.3 and 3.0). So this claim runs at SPEC's scale, d = 250.
  constexpr long kDim = 250;
  constexpr int kSeeds = 128;
  double max_ratio[2] = {0, 0};  // H, G
  for (int seed = 0; seed < kSeeds; ++seed) {
    ExperimentSpec spec = SmallXorSpec(seed, kDim);
    spec.sgd.t_end = 0;  // the t = 0 snapshot only
    spec.analysis.class_blocks = false;
    const RecordedRun run = RunSpec(spec);
    ASSERT_EQ(run.snapshots.size(), 1u);
    for (MatrixKind m : {MatrixKind::kHessian, MatrixKind::kGMatrix}) {
      const SpectrumReport* layer2 = SecondLayer(run.snapshots[0], m);
      ASSERT_NE(layer2, nullptr);
      EXPECT_EQ(layer2->outlier_count, 0) << "seed " << seed << " " << MatrixKindName(m);
      double& max = max_ratio[static_cast<int>(m)];
      max = std::max(max, TopOverEdge(*layer2));
    }
  }
  std::printf("X2 d=%ld, %d seeds, t=0: max top/edge H %.3f G %.3f (outlier above 4)\n", kDim,
              kSeeds, max_ratio[0], max_ratio[1]);
}

TEST(SmallXorReproductionTest, X2FourSecondLayerOutliersForEveryOptimalRunFewerOnlyIfFailed) {
  // d = 100 so that 128 runs to t = 80 take about 2 s. With success probability p = 3/32 the
  // chance of no success at all is (29/32)^128 = 3e-6, so the implication below is not vacuous
  // (and that is checked).
  constexpr long kDim = 100;
  constexpr int kSeeds = 128;
  int successes = 0, still_converging = 0;
  int final_rank_count[kHidden + 1] = {};
  double start_ratio_max = 0;
  // Margins, reported: the 4th second-layer eigenvalue over the edge in successful runs, and the
  // best accuracy of a rank-deficient run.
  double success_fourth_ratio_min = std::numeric_limits<double>::infinity();
  double deficient_accuracy_max = 0;
  for (int seed = 0; seed < kSeeds; ++seed) {
    ExperimentSpec spec = SmallXorSpec(seed, kDim);
    spec.analysis.class_blocks = false;  // the second layer is always analysed
    const RecordedRun run = RunSpec(spec);
    ASSERT_TRUE(run.result.has_rank) << "seed " << seed;
    ASSERT_EQ(run.snapshots.size(), 2u);
    const SpectrumReport* start = SecondLayer(run.snapshots.front(), MatrixKind::kHessian);
    ASSERT_NE(start, nullptr);
    start_ratio_max = std::max(start_ratio_max, TopOverEdge(*start));  // reported only
    const int rank = run.result.final_rank.outlier_rank;
    const bool success = run.result.final_test_accuracy > 0.99;
    successes += success;
    ASSERT_GE(rank, 0);
    ASSERT_LE(rank, kHidden);
    ++final_rank_count[rank];
    // They emerge: every neuron that keeps its v_i grows along the one cluster of its class it
    // is active on (Ben Arous, Gheissari & Jagannath 2022), so every run ends covering at least
    // one cluster.
    EXPECT_GE(rank, 1) << "seed " << seed;
    // 4 for every successful run; <= 3 (rank-deficient last layer) only for failed runs. A run
    // with 4 outliers that has not reached 0.99 yet is allowed (still converging at t = 80).
    if (success) {
      EXPECT_EQ(rank, 4) << "seed " << seed;
    }
    if (rank <= 3) {
      EXPECT_FALSE(success) << "seed " << seed << " accuracy " << run.result.final_test_accuracy;
    }
    still_converging += !success && rank == 4;
    const SpectrumReport* end = SecondLayer(run.snapshots.back(), MatrixKind::kHessian);
    ASSERT_NE(end, nullptr);
    if (success && end->top_eigenvalues.size() >= 4) {
      success_fourth_ratio_min =
          std::min(success_fourth_ratio_min, end->top_eigenvalues[3] / end->bulk_edge);
    }
    if (rank <= 3) {
      deficient_accuracy_max = std::max(deficient_accuracy_max, run.result.final_test_accuracy);
    }
  }
  EXPECT_GE(successes, 1);
  std::printf(
      "X2 d=%ld: %d/%d successful (3/32 of them = %.1f); final second-layer outliers 0..4: "
      "%d %d %d %d %d; %d with 4 outliers still converging; successful runs: min lambda_4/edge "
      "%.1f (outlier above 4); runs with <= 3: max accuracy %.3f; t=0 max top/edge H %.3f\n",
      kDim, successes, kSeeds, kSeeds * 3.0 / 32, final_rank_count[0], final_rank_count[1],
      final_rank_count[2], final_rank_count[3], final_rank_count[4], still_converging,
      success_fourth_ratio_min, deficient_accuracy_max, start_ratio_max);
}

TEST(SmallXorReproductionTest, X3NeuronBlocksHaveTwoOutliersAlongTheMeansAndWeightsAlign) {
  // SPEC's scale, d = 250. Seeds 0..7 end at sub-optimal classifiers and seed 22 at the optimum
  // (the seed xor_experiment_test pins): the claim is per neuron and holds for both.
  constexpr long kDim = 250;
  const uint64_t kSeeds[] = {0, 1, 2, 3, 4, 5, 6, 7, 22};
  // 1 - overlap = O(1/lambda): BBP with gamma = d/M_test = 1/2 and spikes of strength about
  // lambda/2 (each of mu, nu carries a quarter of the data, the neuron is active on half of it)
  // gives 1/lambda; measured about 2/lambda. Allow 5/lambda = 0.005 (the full-scale bound).
  constexpr double kOverlapMin = 0.995;
  // t = 0: align^2 ~ Beta(1, (d-2)/2) for W_i independent of span(mu, nu), so
  // P(align > 0.3) = 0.91^124 = 8e-6 per neuron.
  constexpr double kInitialMax = 0.3;
  // Mean of align^2 d/2 over the 36 neurons: 1 in expectation, standard deviation of the mean
  // 1/6. The window [0.5, 2] is 3 of them below and leaves room above for the slight tilt of E_2
  // towards W_i that the ReLU's selection of samples (W_i . X > 0) causes (measured +12%).
  constexpr double kInitialScaledMin = 0.5, kInitialScaledMax = 2.0;
  constexpr double kFinalMin = 0.99;  // SPEC X3: "> 0.99"
  // ... for the neurons that carry the signal. grad_{W_i} = r v_i a_i X + alpha W_i: a neuron
  // whose v_i is near 0 (seed 5, neuron 0: v_i = 0.024 at t = 0) gets almost no signal; its W_i
  // and v_i die together, the part of W_i off the means only decays by the ridge, to
  // e^{-alpha t} |W_i(0)| = e^{-8} = 3.4e-4 at t = 80, and its in-span part sits at O(|v_i|)
  // (seed 5: 0.0022, so alignment 0.989). That neuron does not align by t = 80 and plays no part
  // in the classifier. Live neurons have |W_i| = O(|v_i|) = O(0.1-1); above 0.01 the ridge's
  // leftover is under 3.4% of |W_i| and costs at most 6e-4 of alignment. Measured over the 256
  // neurons of seeds 0..63: dead ones at |W_i| <= 0.0022 (3 of them, alignment 0.32-0.989), live
  // ones at |W_i| >= 0.021 (all >= 0.998).
  constexpr double kLiveWeightNorm = 0.01;

  Stats initial, initial_scaled, end_alignment, overlap, live_norm;
  int successes = 0, dead = 0;
  for (uint64_t seed : kSeeds) {
    ExperimentSpec spec = SmallXorSpec(seed, kDim);
    spec.analysis.g_matrix = false;
    const RecordedRun run = RunSpec(spec);
    ASSERT_EQ(run.snapshots.size(), 2u);
    successes += run.result.final_test_accuracy > 0.99;
    const auto start = HessianBlocks(run.snapshots.front(), BlockKind::kNeuron);
    const auto end = HessianBlocks(run.snapshots.back(), BlockKind::kNeuron);
    ASSERT_EQ(start.size(), static_cast<size_t>(kHidden));
    ASSERT_EQ(end.size(), static_cast<size_t>(kHidden));
    for (int i = 0; i < kHidden; ++i) {
      // The two outliers come from the data's mean structure, so they are there from t = 0.
      for (const SpectrumReport* block : {start[i], end[i]}) {
        EXPECT_EQ(block->outlier_count, 2) << "seed " << seed << " neuron " << i;
        EXPECT_GT(block->overlap_with_means, kOverlapMin) << "seed " << seed << " neuron " << i;
        overlap.Add(block->overlap_with_means);
      }
      const double a0 = start[i]->alignment_at_expected;
      const double a1 = end[i]->alignment_at_expected;
      EXPECT_LT(a0, kInitialMax) << "seed " << seed << " neuron " << i;
      initial.Add(a0);
      initial_scaled.Add(a0 * a0 * kDim / 2);
      const double norm = run.snapshots.back().weight_norms.at(i);
      if (norm > kLiveWeightNorm) {
        EXPECT_GT(a1, kFinalMin) << "seed " << seed << " neuron " << i;
        end_alignment.Add(a1);
        live_norm.Add(norm);
      } else {
        std::printf("X3 seed %d neuron %d: dead (|W_i| = %.4f, v_i = %+.4f), alignment %.4f\n",
                    static_cast<int>(seed), i, norm,
                    run.snapshots.back().second_layer_weights.at(i), a1);
        ++dead;
      }
    }
  }
  EXPECT_GE(successes, 1);  // seed 22
  // Dead neurons are rare: 3 of the 256 measured (1.2%), so 0.4 expected among these 36; more
  // than 4 has probability 7e-5 (2e-3 at twice that rate).
  EXPECT_LE(dead, 4);
  EXPECT_GT(initial_scaled.Mean(), kInitialScaledMin);
  EXPECT_LT(initial_scaled.Mean(), kInitialScaledMax);
  std::printf(
      "X3 d=%ld, %d runs (%d optimal): overlap min %.4f mean %.4f; t=0 align mean %.3f max %.3f "
      "(mean align^2 d/2 = %.3f); t=80, %d live neurons (|W_i| >= %.3f): align min %.4f mean "
      "%.4f; %d dead\n",
      kDim, static_cast<int>(std::size(kSeeds)), successes, overlap.Min(), overlap.Mean(),
      initial.Mean(), initial.Max(), initial_scaled.Mean(), end_alignment.Count(), live_norm.Min(),
      end_alignment.Min(), end_alignment.Mean(), dead);
}

}  // namespace
}  // namespace sgdspectra
