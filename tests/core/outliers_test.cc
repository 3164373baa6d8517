#include "sgdspectra/core/outliers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "sgdspectra/core/bulk_edge.h"
#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/random.h"

namespace sgdspectra {
namespace {

// Spiked covariance model: rows Y_j = Sigma^{1/2} z_j, Sigma = I + sum_i theta_i u_i u_i^T with
// u_i the first coordinate axes (rotation invariance makes this general). The sample matrix
// A = (1/M) Y^T Y has, as d, M grow with d/M = gamma, an outlier near
// (1 + theta)(1 + gamma/theta) for each theta > sqrt(gamma) (BBP) and none otherwise.
RowMatrix SpikedSample(long d, long m, const std::vector<double>& thetas, uint64_t seed) {
  Rng rng(seed, 31);
  RowMatrix y(m, d);
  rng.FillNormal(y.data(), y.size());
  for (size_t i = 0; i < thetas.size(); ++i) y.col(i) *= std::sqrt(1.0 + thetas[i]);
  return y;
}

struct SpikedCase {
  double gamma;
  std::vector<double> thetas_in_sqrt_gamma;  // spikes in units of the BBP threshold sqrt(gamma)
  int expected_outliers;
};

class SpikedModelTest : public ::testing::TestWithParam<SpikedCase> {
 protected:
  static constexpr long kDim = 400;
};

TEST_P(SpikedModelTest, NullModelEdgeCountsExactlyTheSupercriticalSpikes) {
  const SpikedCase& c = GetParam();
  const long m = static_cast<long>(kDim / c.gamma);
  std::vector<double> thetas;
  for (double t : c.thetas_in_sqrt_gamma) thetas.push_back(t * std::sqrt(c.gamma));
  const RowMatrix sample = SpikedSample(kDim, m, thetas, 1);
  const RowMatrix noise = SpikedSample(kDim, m, {}, 2);  // the null: same size, no spikes
  DiagonalMixing ones(VectorXd::Ones(m));
  SampleGramOperator a(sample, ones, nullptr), null_a(noise, ones, nullptr);
  const EigenResult top = TopEigenpairs(a, 8, SolverSettings{}, 1, nullptr);
  const EigenResult null_top = TopEigenpairs(null_a, 1, SolverSettings{}, 1, nullptr);
  ASSERT_EQ(top.converged, 8);
  ASSERT_EQ(null_top.converged, 1);
  const double margin = OutlierSettings{}.margin;
  EXPECT_EQ(CountOutliers(top.values, null_top.values[0], margin), c.expected_outliers);

  // The same count from the Marchenko-Pastur edge (unit weights, unit noise variance).
  EXPECT_EQ(
      CountOutliers(top.values, DeformedMarchenkoPasturEdge(VectorXd::Ones(m), 1.0, kDim), margin),
      c.expected_outliers);

  // And the outliers sit where BBP says. The outlier's relative fluctuation is about
  // sqrt(2 / M); the tolerance is 4 of those.
  std::vector<double> supercritical;
  for (double t : thetas) {
    if (t > std::sqrt(c.gamma)) supercritical.push_back(t);
  }
  std::sort(supercritical.rbegin(), supercritical.rend());
  for (size_t i = 0; i < supercritical.size(); ++i) {
    const double t = supercritical[i];
    const double predicted = (1 + t) * (1 + c.gamma / t);
    EXPECT_NEAR(top.values[i] / predicted, 1.0, 4 * std::sqrt(2.0 / m)) << "spike " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AspectRatios, SpikedModelTest,
    ::testing::Values(SpikedCase{0.25, {3.0, 5.0}, 2}, SpikedCase{0.5, {3.0, 5.0}, 2},
                      SpikedCase{1.0, {3.0, 5.0}, 2}, SpikedCase{0.5, {4.0, 0.3}, 1},
                      SpikedCase{1.0, {0.3, 0.2}, 0}, SpikedCase{0.25, {}, 0},
                      SpikedCase{2.0, {3.0}, 1}),
    [](const ::testing::TestParamInfo<SpikedCase>& info) {
      return "gamma" + std::to_string(static_cast<int>(info.param.gamma * 100)) + "_spikes" +
             std::to_string(info.param.thetas_in_sqrt_gamma.size()) + "_expect" +
             std::to_string(info.param.expected_outliers);
    });

TEST(OutlierRulesTest, CountStopsAtTheFirstValueBelowThreshold) {
  VectorXd v(5);
  v << 10, 5, 1.2, 1.0, 0.9;
  EXPECT_EQ(CountOutliers(v, 1.0, 0.1), 3);
  EXPECT_EQ(CountOutliers(v, 1.0, 0.25), 2);
  EXPECT_EQ(CountOutliers(v, 20.0, 0.0), 0);
}

TEST(OutlierRulesTest, LargestGapPicksTheBiggestRatio) {
  VectorXd v(6);
  v << 9, 8, 2, 1.9, 1.8, 1.7;
  EXPECT_DOUBLE_EQ(LargestGapEdge(v, 1.5), 2.0);
  EXPECT_EQ(CountOutliers(v, LargestGapEdge(v, 1.5), 0.0), 2);
  VectorXd flat(4);
  flat << 1.05, 1.04, 1.03, 1.02;
  EXPECT_EQ(CountOutliers(flat, LargestGapEdge(flat, 1.5), 0.0), 0);
}

}  // namespace
}  // namespace sgdspectra
