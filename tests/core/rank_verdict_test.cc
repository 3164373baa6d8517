// Marginal counts near the edge and the three-valued classifier-rank verdict.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "../../core/src/block_analysis.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/snapshot.h"
#include "sgdspectra/core/thread_pool.h"

namespace sgdspectra {
namespace {

// A diagonal matrix with known eigenvalues, analysed with a given edge and margin through the
// real block path (AddFixedEdgeBlock + AnalyzeBlocks): edge 1, margin 0.1, threshold 1.1.
SpectrumReport AnalyseKnownSpectrum(const std::vector<double>& eigenvalues) {
  const long n = static_cast<long>(eigenvalues.size());
  MatrixXd matrix = MatrixXd::Zero(n, n);
  for (long i = 0; i < n; ++i) matrix(i, i) = eigenvalues[i];
  std::vector<PendingBlock> blocks;
  PendingBlock& b = AddFixedEdgeBlock(&blocks, matrix, /*num_samples=*/100, 1.0, 0.1);
  ExperimentSpec spec;
  spec.task = TaskKind::kXor;
  spec.xor_task.hidden = static_cast<int>(n);
  SetBlockTarget(spec, MatrixKind::kHessian, BlockKind::kSecondLayer, -1, VectorXd::Ones(n),
                 nullptr, {}, &b);
  ThreadPool pool(1);
  EXPECT_TRUE(AnalyzeBlocks(&blocks, spec.analysis, 1, 0, &pool, nullptr));
  return blocks[0].report;
}

TEST(MarginalCountTest, EigenvaluesBetweenEdgeAndThresholdAreMarginal) {
  // 3.0 and 1.5 clear the threshold 1.1; 1.08 and 1.01 lie in (1, 1.1]; 0.9 is bulk.
  const SpectrumReport r = AnalyseKnownSpectrum({3.0, 1.5, 1.08, 1.01, 0.9});
  EXPECT_EQ(r.outlier_count, 2);
  EXPECT_EQ(r.marginal_count, 2);
  EXPECT_DOUBLE_EQ(r.outlier_threshold, 1.1);
}

TEST(AlignmentTest, NotApplicableWithoutOutliersOrWhenTheSpaceIsEverything) {
  // 0 outliers: no space to align with. The block has 4 = expected (XOR: 4) dimensions: the
  // expected-size space is all of it.
  const SpectrumReport none = AnalyseKnownSpectrum({0.9, 0.8, 0.7, 0.6});
  EXPECT_EQ(none.outlier_count, 0);
  EXPECT_TRUE(std::isnan(none.alignment_at_outliers));
  EXPECT_TRUE(std::isnan(none.alignment_at_expected));
  // 2 outliers of 5 dimensions: both defined; the parameters (all ones) have 2/5 of their
  // squared norm on the two leading axes.
  const SpectrumReport two = AnalyseKnownSpectrum({3.0, 2.0, 0.5, 0.4, 0.3});
  EXPECT_NEAR(two.alignment_at_outliers, std::sqrt(2.0 / 5.0), 1e-12);
  EXPECT_NEAR(two.alignment_at_expected, std::sqrt(4.0 / 5.0), 1e-12);
}

TEST(MarginalCountTest, NothingInTheBandMeansNoMarginal) {
  const SpectrumReport r = AnalyseKnownSpectrum({3.0, 2.0, 0.99, 0.5});
  EXPECT_EQ(r.outlier_count, 2);
  EXPECT_EQ(r.marginal_count, 0);
}

struct VerdictCase {
  std::string name;
  std::vector<int> outliers, marginal;
  int expected_rank;
  RankVerdict verdict;
  int outlier_rank;
};

class RankVerdictTest : public ::testing::TestWithParam<VerdictCase> {};

TEST_P(RankVerdictTest, DecidesFromCountsAndMarginals) {
  const VerdictCase& c = GetParam();
  ClassifierRank rank;
  rank.h_block_outliers = c.outliers;
  rank.h_block_marginal = c.marginal;
  rank.expected_rank = c.expected_rank;
  DecideRankVerdict([](int i) { return "block " + std::to_string(i); }, &rank);
  EXPECT_EQ(rank.verdict, c.verdict) << rank.verdict_reason;
  EXPECT_EQ(rank.outlier_rank, c.outlier_rank);
  EXPECT_EQ(rank.rank_deficient, c.verdict == RankVerdict::kRankDeficient);
  EXPECT_FALSE(rank.verdict_reason.empty());
  if (c.verdict != RankVerdict::kFullRank) {
    // The reason names the first block that fell short.
    for (size_t i = 0; i < c.outliers.size(); ++i) {
      if (c.outliers[i] < c.expected_rank) {
        EXPECT_NE(rank.verdict_reason.find("block " + std::to_string(i)), std::string::npos)
            << rank.verdict_reason;
        break;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RankVerdictTest,
    ::testing::Values(
        VerdictCase{"all_full", {4, 4, 5, 4}, {0, 1, 0, 0}, 4, RankVerdict::kFullRank, 4},
        // The case: one block's 4th eigenvalue just under the threshold.
        VerdictCase{"one_marginal", {4, 4, 3, 4}, {0, 0, 1, 0}, 4, RankVerdict::kUndetermined, 3},
        VerdictCase{"short_without_marginal",
                    {4, 2, 4, 4},
                    {0, 0, 0, 0},
                    4,
                    RankVerdict::kRankDeficient,
                    2},
        VerdictCase{
            "marginal_not_enough", {4, 2, 4, 4}, {0, 1, 0, 0}, 4, RankVerdict::kRankDeficient, 2},
        // One block could be lifted, another cannot: deficient either way.
        VerdictCase{"mixed", {3, 2, 4, 4}, {1, 0, 0, 0}, 4, RankVerdict::kRankDeficient, 2},
        VerdictCase{"xor_layer", {3}, {1}, 4, RankVerdict::kUndetermined, 3}),
    [](const ::testing::TestParamInfo<VerdictCase>& info) { return info.param.name; });

}  // namespace
}  // namespace sgdspectra
