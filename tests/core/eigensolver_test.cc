#include "sgdspectra/core/eigensolver.h"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>

#include "sgdspectra/core/batched_operators.h"
#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/lockstep_lanczos.h"
#include "sgdspectra/core/random.h"

namespace sgdspectra {
namespace {

// Wishart bulk plus a few spikes: the shape of our curvature blocks.
MatrixXd SpikedWishart(long n, long m, int spikes, uint64_t seed) {
  Rng rng(seed, 9);
  MatrixXd y(m, n);
  rng.FillNormal(y.data(), y.size());
  MatrixXd a = y.transpose() * y / m;
  for (int i = 0; i < spikes; ++i) {
    VectorXd u(n);
    rng.FillNormal(u.data(), n);
    u.normalize();
    a += (3.0 + i) * u * u.transpose();
  }
  return a;
}

TEST(EigensolverTest, TopPairsMatchDenseSolver) {
  const DenseSymmetricOperator op(SpikedWishart(300, 600, 4, 1));
  const int r = 12;
  const EigenResult got = TopEigenpairs(op, r, SolverSettings{}, 5, nullptr);
  ASSERT_EQ(got.converged, r);
  EXPECT_EQ(got.method, SolverMethod::kLanczos);
  EXPECT_GT(got.products, 0);
  Eigen::SelfAdjointEigenSolver<MatrixXd> dense(op.matrix());
  const VectorXd expected = dense.eigenvalues().tail(r).reverse();
  const double norm = dense.eigenvalues().cwiseAbs().maxCoeff();
  for (int i = 0; i < r; ++i) {
    EXPECT_NEAR(got.values[i], expected[i], 1e-8 * std::abs(expected[i])) << i;
    const VectorXd v = got.vectors.col(i);
    EXPECT_LT((op.matrix() * v - got.values[i] * v).norm(), 1e-8 * norm) << i;
    EXPECT_NEAR(v.norm(), 1.0, 1e-10);
  }
}

TEST(EigensolverTest, SmallOperatorsAreSolvedDensely) {
  const DenseSymmetricOperator op(SpikedWishart(6, 20, 1, 2));
  const EigenResult got = TopEigenpairs(op, 3, SolverSettings{}, 1, nullptr);
  EXPECT_EQ(got.method, SolverMethod::kDense);
  ASSERT_EQ(got.converged, 3);
  Eigen::SelfAdjointEigenSolver<MatrixXd> dense(op.matrix());
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(got.values[i], dense.eigenvalues()[5 - i], 1e-12);
  }
}

TEST(EigensolverTest, NonConvergenceIsReportedAsData) {
  const DenseSymmetricOperator op(SpikedWishart(400, 400, 0, 3));  // no gap: slow convergence
  SolverSettings settings;
  settings.max_restarts = 1;
  settings.tol = 1e-14;
  const EigenResult got = TopEigenpairs(op, 20, settings, 1, nullptr);
  EXPECT_FALSE(got.cancelled);
  EXPECT_LT(got.converged, got.requested);
  EXPECT_EQ(got.values.size(), got.converged);
  EXPECT_EQ(got.vectors.cols(), got.converged);
}

TEST(EigensolverTest, CancelHookStopsTheSolve) {
  const DenseSymmetricOperator op(SpikedWishart(200, 400, 2, 4));
  int calls = 0;
  const CancelFn cancel = [&] { return ++calls > 5; };
  const EigenResult got = TopEigenpairs(op, 8, SolverSettings{}, 1, cancel);
  EXPECT_TRUE(got.cancelled);
  EXPECT_EQ(got.converged, 0);
  EXPECT_EQ(got.products, 5);
}

TEST(EigensolverTest, SameSeedSameResult) {
  const DenseSymmetricOperator op(SpikedWishart(200, 400, 3, 5));
  const EigenResult a = TopEigenpairs(op, 6, SolverSettings{}, 77, nullptr);
  const EigenResult b = TopEigenpairs(op, 6, SolverSettings{}, 77, nullptr);
  ASSERT_EQ(a.converged, b.converged);
  for (int i = 0; i < a.converged; ++i) EXPECT_EQ(a.values[i], b.values[i]);
}

// A threshold between the Wishart bulk (edge (1 + sqrt(1/2))^2 = 2.91 for n/M = 1/2) and the
// smallest spike's outlier (BBP: (1 + 3)(1 + 0.5/3) = 4.67): the dense count above it is the
// truth the targeted solve must certify.
constexpr double kSpikeThreshold = 3.5;

// The targeted solve itself (lockstep_lanczos.h) on one problem, through the adapter every full
// matrix uses.
LanczosOutcome SolveTargeted(const SymmetricOperator& op, const LanczosTarget& target) {
  const SingleBatchedOperator batched(op);
  return LockstepLanczos(batched, {target}, nullptr)[0];
}

LanczosTarget SpikeTarget(int min_pairs, int max_pairs) {
  LanczosTarget target;
  target.min_pairs = min_pairs;
  target.threshold = kSpikeThreshold;
  target.pairs_below = 2;
  target.max_pairs = max_pairs;
  target.start_seed = 3;
  return target;
}

TEST(EigensolverTest, TargetedSolveConvergesEveryPairAboveTheThresholdPlusTheCertifyingOnes) {
  const DenseSymmetricOperator op(SpikedWishart(300, 600, 6, 6));
  Eigen::SelfAdjointEigenSolver<MatrixXd> dense(op.matrix());
  const VectorXd truth = dense.eigenvalues().reverse();
  int above = 0;
  while (truth[above] > kSpikeThreshold) ++above;
  ASSERT_EQ(above, 6);  // every spike is above the BBP transition

  // min_pairs below the outliers: the solve must grow to find them all.
  const LanczosOutcome got = SolveTargeted(op, SpikeTarget(2, 50));
  ASSERT_GE(got.converged, above + 2);
  EXPECT_GT(got.wanted, 4);  // more than the start (min_pairs + pairs_below) asked for
  EXPECT_TRUE(got.threshold_certified);
  int got_above = 0;
  while (got_above < got.converged && got.values[got_above] > kSpikeThreshold) ++got_above;
  EXPECT_EQ(got_above, above);
  for (int i = 0; i < got.converged; ++i) {
    EXPECT_NEAR(got.values[i], truth[i], 1e-8 * truth[0]) << i;
  }
}

TEST(EigensolverTest, TargetedSolveAtItsCapIsNotCertified) {
  const DenseSymmetricOperator op(SpikedWishart(300, 600, 6, 6));
  const LanczosOutcome got = SolveTargeted(op, SpikeTarget(2, 4));  // cap below the 6 outliers
  EXPECT_EQ(got.converged, 4);
  EXPECT_FALSE(got.threshold_certified);
}

TEST(EigensolverTest, PairsWantedFollowTheTarget) {
  const DenseSymmetricOperator op(SpikedWishart(300, 600, 6, 6));
  LanczosTarget no_threshold;
  no_threshold.min_pairs = 4;
  no_threshold.max_pairs = 10;
  EXPECT_EQ(SolveTargeted(op, no_threshold).wanted, 4);          // no threshold: exactly min_pairs
  EXPECT_EQ(SolveTargeted(op, SpikeTarget(10, 20)).wanted, 10);  // min_pairs above 6 + 2
  EXPECT_EQ(SolveTargeted(op, SpikeTarget(2, 20)).wanted, 8);    // 6 above + 2 below
  EXPECT_EQ(SolveTargeted(op, SpikeTarget(2, 7)).wanted, 7);     // capped
}

}  // namespace
}  // namespace sgdspectra
