#include "sgdspectra/core/cost_estimate.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace sgdspectra {
namespace {

// k-GMM, d = 100, k = 2, M = 200, 1000 steps, snapshots at 0, 500, 1000; every default of the
// analysis (H and G, full matrices and class blocks, null-model edges, kOutliers).
ExperimentSpec SmallKgmm() {
  ExperimentSpec spec;
  spec.kgmm.dim = 100;
  spec.kgmm.num_classes = 2;
  spec.sgd.steps = 1000;
  spec.schedule.kind = ScheduleKind::kEverySteps;
  spec.schedule.every_steps = 500;
  return spec;
}

// By hand, SmallKgmm(): caps top_r = top_r_full = 8, expected 2 (class) and 2 (full), so each
// Lanczos solve converges min(8, 2 + certify_below 2) = 4 pairs: 3 x 4 + 20 = 32 products,
// plus 30 for its null solve = 62 per block.
//   full (n = 200), H and G:        2 x 62 products at 4 M d k + 4 M k = 161600 flops
//   class blocks (n = 100), 2 x 2:  4 x 62 products at 4 M d = 80000 flops
TEST(CostEstimateTest, SmallKgmmByHand) {
  const ExperimentSpec spec = SmallKgmm();
  ASSERT_TRUE(spec.Validate().ok()) << spec.Validate().ToString();
  const JobCostEstimate e = EstimateJobCost(spec);
  EXPECT_EQ(e.snapshots, 3);
  EXPECT_EQ(e.solves_per_snapshot, 12);  // 6 blocks + 6 null solves
  EXPECT_EQ(e.products_per_snapshot, 2 * 62 + 4 * 62);
  EXPECT_DOUBLE_EQ(e.flops_per_snapshot, 2 * 62 * 161600.0 + 4 * 62 * 80000.0);  // 39878400
  EXPECT_DOUBLE_EQ(e.largest_solve_flops, 62 * 161600.0);
  EXPECT_DOUBLE_EQ(e.sgd_flops_per_step, (4 * 2 + 10) * 100.0);
  EXPECT_DOUBLE_EQ(e.sgd_flops, 1000 * 1800.0);
  EXPECT_DOUBLE_EQ(e.total_flops, 3 * 39878400.0 + 1800000.0);
  // One thread: every flop in sequence.
  EXPECT_DOUBLE_EQ(e.analysis_seconds, 3 * 39878400.0 / kNominalProductFlopsPerSecond);
  EXPECT_DOUBLE_EQ(e.sgd_seconds, 1800000.0 / kNominalSgdFlopsPerSecond);
  EXPECT_DOUBLE_EQ(e.estimated_seconds, e.analysis_seconds + e.sgd_seconds);
  EXPECT_DOUBLE_EQ(e.peak_bytes, spec.EstimatedBytes());
}

TEST(CostEstimateTest, ThreadsShareTheSolvesButNotOneSolve) {
  ExperimentSpec spec = SmallKgmm();
  spec.analysis.threads = 4;
  // 39878400 / 4 < one full block's 62 x 161600: the longest block bounds the snapshot.
  EXPECT_DOUBLE_EQ(EstimateJobCost(spec).analysis_seconds,
                   3 * 62 * 161600.0 / kNominalProductFlopsPerSecond);
  spec.analysis.threads = 2;
  EXPECT_DOUBLE_EQ(EstimateJobCost(spec).analysis_seconds,
                   3 * 39878400.0 / 2 / kNominalProductFlopsPerSecond);
}

// By hand, d = 100, K = 2, M = 200: caps top_r 8, top_r_full 12; expected 2 (neuron), 4
// (layers). Full (n = 202) and first layer (n = 200): min(12, 4 + 2) = 6 pairs, 38 + 30 = 68
// products; neurons (n = 100): 4 pairs, 62 products; second layer (K = 2): dense, 2 products
// of 2 K^2 = 8 flops, no null solve.
TEST(CostEstimateTest, SmallXorByHand) {
  ExperimentSpec spec;
  spec.task = TaskKind::kXor;
  spec.xor_task.dim = 100;
  spec.xor_task.hidden = 2;
  spec.sgd.steps = 1000;
  spec.schedule.kind = ScheduleKind::kEverySteps;
  spec.schedule.every_steps = 500;
  ASSERT_TRUE(spec.Validate().ok()) << spec.Validate().ToString();
  const JobCostEstimate e = EstimateJobCost(spec);
  EXPECT_EQ(e.solves_per_snapshot, 2 * 2 + 2 * 2 + 4 * 2 + 2);
  EXPECT_EQ(e.products_per_snapshot, 2 * 68 + 2 * 68 + 4 * 62 + 2 * 2);
  EXPECT_DOUBLE_EQ(e.flops_per_snapshot,
                   2 * 68 * 161600.0 + 2 * 68 * 160000.0 + 4 * 62 * 80000.0 + 2 * 2 * 8.0);
  EXPECT_DOUBLE_EQ(e.sgd_flops_per_step, (4 * 2 + 10) * 100.0);
}

TEST(CostEstimateTest, TopRTargetConvergesTheCap) {
  ExperimentSpec spec = SmallKgmm();
  spec.analysis.solve_target = SolveTarget::kTopR;
  // 8 pairs: 3 x 8 + 20 = 44 products + 30 for the null solve, for all 6 blocks.
  EXPECT_EQ(EstimateJobCost(spec).products_per_snapshot, 6 * 74);
  // kOutliers never exceeds the cap: certify_below large makes it the cap too.
  spec.analysis.solve_target = SolveTarget::kOutliers;
  spec.analysis.certify_below = 100;
  EXPECT_EQ(EstimateJobCost(spec).products_per_snapshot, 6 * 74);
}

struct ReductionCase {
  std::string name;
  std::function<void(ExperimentSpec*)> change;
  int solves;  // per snapshot, from 12
};

class CostReductionTest : public ::testing::TestWithParam<ReductionCase> {};

TEST_P(CostReductionTest, FewerSolvesAndFlops) {
  const JobCostEstimate base = EstimateJobCost(SmallKgmm());
  ExperimentSpec spec = SmallKgmm();
  GetParam().change(&spec);
  ASSERT_TRUE(spec.Validate().ok()) << spec.Validate().ToString();
  const JobCostEstimate e = EstimateJobCost(spec);
  EXPECT_EQ(e.solves_per_snapshot, GetParam().solves);
  EXPECT_LT(e.products_per_snapshot, base.products_per_snapshot);
  EXPECT_LT(e.flops_per_snapshot, base.flops_per_snapshot);
  EXPECT_LT(e.total_flops, base.total_flops);
  EXPECT_LE(e.estimated_seconds, base.estimated_seconds);
  EXPECT_EQ(e.sgd_flops, base.sgd_flops);
}

INSTANTIATE_TEST_SUITE_P(
    Settings, CostReductionTest,
    ::testing::Values(
        ReductionCase{"no_g_matrix", [](ExperimentSpec* s) { s->analysis.g_matrix = false; }, 6},
        ReductionCase{"no_full_matrices",
                      [](ExperimentSpec* s) { s->analysis.full_matrices = false; }, 8},
        ReductionCase{"no_class_blocks",
                      [](ExperimentSpec* s) { s->analysis.class_blocks = false; }, 4},
        ReductionCase{"marchenko_pastur_edges",
                      [](ExperimentSpec* s) {
                        s->analysis.outliers.method = OutlierMethod::kMarchenkoPastur;
                      },
                      6}),
    [](const ::testing::TestParamInfo<ReductionCase>& info) { return info.param.name; });

// Every cost grows with the size of the problem; `set` applies the i-th of increasing values.
void ExpectIncreasing(const std::function<void(ExperimentSpec*, int)>& set, int count,
                      const char* what) {
  JobCostEstimate previous;
  for (int i = 0; i < count; ++i) {
    ExperimentSpec spec;
    set(&spec, i);
    ASSERT_TRUE(spec.Validate().ok()) << what << " #" << i << ": " << spec.Validate().ToString();
    const JobCostEstimate e = EstimateJobCost(spec);
    if (i > 0) {
      EXPECT_GT(e.total_flops, previous.total_flops) << what << " #" << i;
      EXPECT_GT(e.estimated_seconds, previous.estimated_seconds) << what << " #" << i;
      EXPECT_GE(e.products_per_snapshot, previous.products_per_snapshot) << what << " #" << i;
      EXPECT_GE(e.peak_bytes, previous.peak_bytes) << what << " #" << i;
    }
    previous = e;
  }
}

TEST(CostEstimateTest, MonotonicInDimension) {
  // From d = 100 up: smaller blocks (<= kDenseSolveMaxSize) are solved densely, one product
  // per column, so their product count is not monotonic (their flops still are tiny).
  const std::vector<long> dims = {100, 400, 1000, 10000};
  ExpectIncreasing([&](ExperimentSpec* s, int i) { s->kgmm.dim = dims[i]; },
                   static_cast<int>(dims.size()), "kgmm.dim");
  ExpectIncreasing(
      [&](ExperimentSpec* s, int i) {
        s->task = TaskKind::kXor;
        s->xor_task.dim = dims[i];
      },
      static_cast<int>(dims.size()), "xor_task.dim");
}

TEST(CostEstimateTest, MonotonicInClassesAndHiddenWidth) {
  const std::vector<int> widths = {2, 3, 4, 8, 16};
  ExpectIncreasing([&](ExperimentSpec* s, int i) { s->kgmm.num_classes = widths[i]; },
                   static_cast<int>(widths.size()), "kgmm.num_classes");
  ExpectIncreasing(
      [&](ExperimentSpec* s, int i) {
        s->task = TaskKind::kXor;
        s->xor_task.hidden = widths[i];
      },
      static_cast<int>(widths.size()), "xor_task.hidden");
}

TEST(CostEstimateTest, MonotonicInSnapshots) {
  const std::vector<int> points = {2, 3, 6, 12, 40};
  ExpectIncreasing([&](ExperimentSpec* s, int i) { s->schedule.num_points = points[i]; },
                   static_cast<int>(points.size()), "schedule.num_points");
  ExperimentSpec spec;
  spec.schedule.num_points = 6;
  EXPECT_EQ(EstimateJobCost(spec).snapshots, static_cast<int>(spec.SnapshotSteps().size()));
}

}  // namespace
}  // namespace sgdspectra
