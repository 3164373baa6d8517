// the reproduction table of docs/SCIENCE.md at full scale, one test per row. Each test prints what
// it measured (the numbers behind docs/REPRODUCTION.md) and asserts the paper's expectation with
// the tolerance stated beside it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "sgdspectra/core/experiment.h"
#include "snapshot_recorder.h"

namespace sgdspectra {
namespace {

std::vector<const SpectrumReport*> Blocks(const Snapshot& s, MatrixKind m, BlockKind b) {
  std::vector<const SpectrumReport*> out;
  for (const SpectrumReport& r : s.spectra) {
    if (r.matrix == m && r.block == b) out.push_back(&r);
  }
  return out;
}

// K1-K5 setting: d = 400, k = 4, beta = 0.1, c_delta = 1, M_test = 4d, t to 20.
ExperimentSpec KgmmSpec(double lambda, double beta) {
  ExperimentSpec spec;
  spec.seed = 1;
  spec.kgmm.dim = 400;
  spec.kgmm.num_classes = 4;
  spec.kgmm.snr = lambda;
  spec.kgmm.ridge = beta;
  spec.analysis.test_ratio = 4;
  spec.sgd.t_end = 20;
  spec.schedule.kind = ScheduleKind::kEverySteps;
  spec.schedule.every_steps = 2000;  // t = 0, 5, 10, 15, 20
  spec.analysis.threads = 2;
  return spec;
}

struct KgmmRun {
  std::vector<Snapshot> snapshots;
  ExperimentResult result;
};

KgmmRun RunKgmm(double lambda, double beta) {
  SnapshotRecorder rec;
  KgmmRun run;
  run.result = RunExperiment(KgmmSpec(lambda, beta), &rec, nullptr);
  run.snapshots = std::move(rec.snapshots);
  EXPECT_TRUE(run.result.status.ok()) << run.result.status.ToString();
  return run;
}

double MeanAlignment(const Snapshot& s) {
  double total = 0;
  const auto blocks = Blocks(s, MatrixKind::kHessian, BlockKind::kClass);
  for (const SpectrumReport* b : blocks) total += b->alignment_at_expected;
  return total / blocks.size();
}

double MeanOffMeanNorm(const Snapshot& s) {
  double total = 0;
  for (double v : s.off_mean_norms) total += v;
  return total / s.off_mean_norms.size();
}

TEST(PaperK, K1FourOutliersInEveryClassBlockCleanGAtLambda100) {
  for (double lambda : {20.0, 100.0}) {
    const KgmmRun run = RunKgmm(lambda, 0.1);
    for (const Snapshot& s : run.snapshots) {
      int g_min = 4;
      for (const SpectrumReport* h : Blocks(s, MatrixKind::kHessian, BlockKind::kClass)) {
        EXPECT_EQ(h->outlier_count, 4) << "lambda " << lambda << " t " << s.time;
      }
      for (const SpectrumReport* g : Blocks(s, MatrixKind::kGMatrix, BlockKind::kClass)) {
        g_min = std::min(g_min, g->outlier_count);
      }
      std::printf("K1 lambda=%g t=%g min G_cc outliers=%d\n", lambda, s.time, g_min);
      if (lambda == 100.0) {
        EXPECT_EQ(g_min, 4) << "t " << s.time;
      }
    }
  }
}

TEST(PaperK, K2AlignmentRisesToNearOne) {
  // Expected: about 0.15 at t = 0; about 0.95 (lambda 20) and 0.99 (lambda 100) at t = 20.
  for (double lambda : {20.0, 100.0}) {
    const KgmmRun run = RunKgmm(lambda, 0.1);
    for (const Snapshot& s : run.snapshots) {
      std::printf("K2 lambda=%g t=%g mean align(x^c, E_4(H_cc))=%.4f\n", lambda, s.time,
                  MeanAlignment(s));
    }
    EXPECT_LT(MeanAlignment(run.snapshots.front()), 0.3);
    const double final_alignment = MeanAlignment(run.snapshots.back());
    if (lambda == 20.0) {
      EXPECT_NEAR(final_alignment, 0.95, 0.03);
    } else {
      EXPECT_NEAR(final_alignment, 0.99, 0.015);
    }
  }
}

TEST(PaperK, K3OverlapWithMeansIsOneMinusOrderOneOverLambdaAndFlat) {
  for (double lambda : {20.0, 100.0}) {
    const KgmmRun run = RunKgmm(lambda, 0.1);
    double lo = 1, hi = 0;
    for (const Snapshot& s : run.snapshots) {
      for (const SpectrumReport* h : Blocks(s, MatrixKind::kHessian, BlockKind::kClass)) {
        lo = std::min(lo, h->overlap_with_means);
        hi = std::max(hi, h->overlap_with_means);
      }
    }
    std::printf("K3 lambda=%g overlap in [%.4f, %.4f]; 1 - overlap = %.2f / lambda\n", lambda, lo,
                hi, (1 - lo) * lambda);
    // 1 - O(1/lambda): the constant measured is about 1.3; allow up to 3.
    EXPECT_GT(lo, 1.0 - 3.0 / lambda);
    EXPECT_LT(hi - lo, 0.02);  // near constant in t
  }
}

TEST(PaperK, K4FullHessianHasKTimesKMinusOneOutliersSplittingOverTraining) {
  for (double lambda : {20.0, 100.0}) {
    const KgmmRun run = RunKgmm(lambda, 0.1);
    std::vector<double> gap;  // lambda_k / lambda_{k+1}: the k large against the mini-bulk
    for (const Snapshot& s : run.snapshots) {
      const SpectrumReport* full = Blocks(s, MatrixKind::kHessian, BlockKind::kFull).front();
      EXPECT_EQ(full->outlier_count, 12) << "lambda " << lambda << " t " << s.time;
      gap.push_back(full->top_eigenvalues[3] / full->top_eigenvalues[4]);
      std::printf("K4 lambda=%g t=%g full H outliers=%d lambda_4/lambda_5=%.3f\n", lambda, s.time,
                  full->outlier_count, gap.back());
    }
    EXPECT_LT(gap.front(), 1.1);  // no split at t = 0
    EXPECT_GT(gap.back(), 1.4);   // k large ones separate from the k(k-2) smaller
  }
}

TEST(PaperK, K5WithoutRidgeOffMeanPartStaysAndAlignmentSaturatesBelowOne) {
  const KgmmRun ridge = RunKgmm(20, 0.1);
  const KgmmRun no_ridge = RunKgmm(20, 0.0);
  for (const Snapshot& s : no_ridge.snapshots) {
    std::printf("K5 beta=0 t=%g off-mean norm=%.3f align=%.4f\n", s.time, MeanOffMeanNorm(s),
                MeanAlignment(s));
  }
  const double off0 = MeanOffMeanNorm(no_ridge.snapshots.front());
  const double off1 = MeanOffMeanNorm(no_ridge.snapshots.back());
  EXPECT_GT(off1, 0.8 * off0);  // does not decay (with beta = 0.1 it falls to ~0.18 of it)
  EXPECT_LT(MeanOffMeanNorm(ridge.snapshots.back()), 0.3 * off0);
  EXPECT_LT(MeanAlignment(no_ridge.snapshots.back()), 0.9);
  EXPECT_LT(MeanAlignment(no_ridge.snapshots.back()), MeanAlignment(ridge.snapshots.back()) - 0.05);
}

// X1-X3 setting: d = 250, K = 4, lambda = 1000, alpha = 0.1, c_delta = 1, t to 80.
ExperimentSpec XorSpec(uint64_t seed) {
  ExperimentSpec spec;
  spec.task = TaskKind::kXor;
  spec.seed = seed;
  spec.sgd.t_end = 80;
  spec.schedule.num_points = 6;
  spec.analysis.full_matrices = false;
  spec.analysis.threads = 2;
  return spec;
}

TEST(PaperX, X1X2X3SuccessFractionSecondLayerRankAndNeuronAlignment) {
  constexpr int kSeeds = 128;
  int successes = 0;
  int agree_success_rank = 0;
  int covered_equals_rank = 0;
  int converging = 0;  // 4 outliers, all clusters covered, accuracy not yet above 0.99
  for (int seed = 0; seed < kSeeds; ++seed) {
    SnapshotRecorder rec;
    const ExperimentResult r = RunExperiment(XorSpec(seed), &rec, nullptr);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    ASSERT_TRUE(r.has_rank);
    const bool success = r.final_test_accuracy > 0.99;
    successes += success;
    // X2: no second-layer outliers at t = 0; 4 for a successful run, <= 3 otherwise.
    for (const SpectrumReport* l2 :
         Blocks(rec.snapshots.front(), MatrixKind::kHessian, BlockKind::kSecondLayer)) {
      EXPECT_EQ(l2->outlier_count, 0) << "seed " << seed;
    }
    int covered = 0;
    for (int c : r.final_rank.covered_clusters) covered += c;
    covered_equals_rank += covered == r.final_rank.outlier_rank;
    agree_success_rank += success ? r.final_rank.outlier_rank == 4 : r.final_rank.outlier_rank <= 3;
    // Both directions of the claim: a successful run has 4 outliers; a run with <= 3 (a
    // rank-deficient last layer) has not succeeded.
    if (success) {
      EXPECT_EQ(r.final_rank.outlier_rank, 4) << "seed " << seed;
    }
    if (r.final_rank.outlier_rank <= 3) {
      EXPECT_FALSE(success) << "seed " << seed;
    }
    // Measured at t = 80: a few runs show 4 outliers with every cluster covered while their
    // accuracy is still climbing (seeds 25 and 51: 0.90 and 0.94, both 1.0 by t = 120). They are
    // not sub-optimal classifiers; they are reported, and must cover all four clusters.
    if (!success && r.final_rank.outlier_rank == 4) {
      ++converging;
      std::printf("X2 seed %d: 4 outliers, covered %d/4, accuracy %.3f (still converging)\n", seed,
                  covered, r.final_test_accuracy);
      EXPECT_EQ(covered, 4) << "seed " << seed;
    }
    // X3 (successful runs): 2 outliers per neuron, overlap ~0.999, alignment 0.05 -> > 0.99.
    if (success) {
      for (int i = 0; i < 4; ++i) {
        const SpectrumReport* first =
            Blocks(rec.snapshots.front(), MatrixKind::kHessian, BlockKind::kNeuron)[i];
        const SpectrumReport* last =
            Blocks(rec.snapshots.back(), MatrixKind::kHessian, BlockKind::kNeuron)[i];
        EXPECT_EQ(last->outlier_count, 2) << "seed " << seed << " neuron " << i;
        EXPECT_GT(last->overlap_with_means, 0.995) << "seed " << seed << " neuron " << i;
        EXPECT_LT(first->alignment_at_expected, 0.3) << "seed " << seed << " neuron " << i;
        EXPECT_GT(last->alignment_at_expected, 0.99) << "seed " << seed << " neuron " << i;
      }
    }
  }
  const double p = static_cast<double>(successes) / kSeeds;
  // Wilson 95% interval.
  const double z = 1.959963984540054, n = kSeeds;
  const double centre = (p + z * z / (2 * n)) / (1 + z * z / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
  std::printf("X1 success %d/%d = %.3f, 95%% CI [%.3f, %.3f] (theory 3/32 = 0.094)\n", successes,
              kSeeds, p, centre - half, centre + half);
  std::printf(
      "X2 success <=> 4 second-layer outliers in %d/%d runs (%d still converging); "
      "covered == outliers in %d/%d\n",
      agree_success_rank, kSeeds, converging, covered_equals_rank, kSeeds);
  // Finite-size runs give roughly 0.09-0.15 (docs/SCIENCE.md); the interval must reach 3/32's
  // region.
  EXPECT_LE(centre - half, 0.15);
  EXPECT_GE(centre + half, 0.09);
}

}  // namespace
}  // namespace sgdspectra
