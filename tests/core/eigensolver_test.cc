#include "sgdspectra/core/eigensolver.h"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>

#include "sgdspectra/core/random.h"

namespace sgdspectra {
namespace {

// A dense symmetric matrix seen through the operator interface.
class DenseOperator : public SymmetricOperator {
 public:
  explicit DenseOperator(MatrixXd a) : a_(std::move(a)) {}
  long size() const override { return a_.rows(); }
  void Apply(const double* x, double* y) const override {
    Eigen::Map<VectorXd>(y, size()).noalias() = a_ * Eigen::Map<const VectorXd>(x, size());
  }
  const MatrixXd& matrix() const { return a_; }

 private:
  MatrixXd a_;
};

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
  const DenseOperator op(SpikedWishart(300, 600, 4, 1));
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
  const DenseOperator op(SpikedWishart(6, 20, 1, 2));
  const EigenResult got = TopEigenpairs(op, 3, SolverSettings{}, 1, nullptr);
  EXPECT_EQ(got.method, SolverMethod::kDense);
  ASSERT_EQ(got.converged, 3);
  Eigen::SelfAdjointEigenSolver<MatrixXd> dense(op.matrix());
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(got.values[i], dense.eigenvalues()[5 - i], 1e-12);
  }
}

TEST(EigensolverTest, NonConvergenceIsReportedAsData) {
  const DenseOperator op(SpikedWishart(400, 400, 0, 3));  // no gap: slow convergence
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
  const DenseOperator op(SpikedWishart(200, 400, 2, 4));
  int calls = 0;
  const CancelFn cancel = [&] { return ++calls > 5; };
  const EigenResult got = TopEigenpairs(op, 8, SolverSettings{}, 1, cancel);
  EXPECT_TRUE(got.cancelled);
  EXPECT_EQ(got.converged, 0);
  EXPECT_EQ(got.products, 5);
}

TEST(EigensolverTest, SameSeedSameResult) {
  const DenseOperator op(SpikedWishart(200, 400, 3, 5));
  const EigenResult a = TopEigenpairs(op, 6, SolverSettings{}, 77, nullptr);
  const EigenResult b = TopEigenpairs(op, 6, SolverSettings{}, 77, nullptr);
  ASSERT_EQ(a.converged, b.converged);
  for (int i = 0; i < a.converged; ++i) EXPECT_EQ(a.values[i], b.values[i]);
}

// A threshold between the Wishart bulk (edge (1 + sqrt(1/2))^2 = 2.91 for n/M = 1/2) and the
// smallest spike's outlier (BBP: (1 + 3)(1 + 0.5/3) = 4.67): the dense count above it is the
// truth the targeted solve must certify.
constexpr double kSpikeThreshold = 3.5;

TEST(EigensolverTest, TargetedSolveConvergesEveryPairAboveTheThresholdPlusTheCertifyingOnes) {
  const DenseOperator op(SpikedWishart(300, 600, 6, 6));
  Eigen::SelfAdjointEigenSolver<MatrixXd> dense(op.matrix());
  const VectorXd truth = dense.eigenvalues().reverse();
  int above = 0;
  while (truth[above] > kSpikeThreshold) ++above;
  ASSERT_EQ(above, 6);  // every spike is above the BBP transition

  EigenTarget target;
  target.min_pairs = 2;  // fewer than the outliers: the solve must grow to find them all
  target.threshold = kSpikeThreshold;
  target.pairs_below = 2;
  target.max_pairs = 50;
  const EigenResult got = TargetedEigenpairs(op, target, SolverSettings{}, 3, nullptr);
  ASSERT_GE(got.converged, above + 2);
  EXPECT_GT(got.requested, 4);  // the first attempt (min_pairs + pairs_below) was too small
  EXPECT_TRUE(got.threshold_certified);
  int got_above = 0;
  while (got_above < got.converged && got.values[got_above] > kSpikeThreshold) ++got_above;
  EXPECT_EQ(got_above, above);
  for (int i = 0; i < got.converged; ++i) {
    EXPECT_NEAR(got.values[i], truth[i], 1e-8 * truth[0]) << i;
  }
}

TEST(EigensolverTest, TargetedSolveAtItsCapIsNotCertified) {
  const DenseOperator op(SpikedWishart(300, 600, 6, 6));
  EigenTarget target;
  target.min_pairs = 2;
  target.threshold = kSpikeThreshold;
  target.pairs_below = 2;
  target.max_pairs = 4;  // below the 6 outliers
  const EigenResult got = TargetedEigenpairs(op, target, SolverSettings{}, 3, nullptr);
  EXPECT_EQ(got.converged, 4);
  EXPECT_FALSE(got.threshold_certified);
}

TEST(EigensolverTest, PairsNeededFollowsTheTarget) {
  EigenTarget target;
  target.min_pairs = 4;
  target.max_pairs = 10;
  EXPECT_EQ(PairsNeeded(target, 7), 4);  // no threshold: exactly min_pairs
  target.threshold = 1.0;
  target.pairs_below = 2;
  EXPECT_EQ(PairsNeeded(target, 0), 4);
  EXPECT_EQ(PairsNeeded(target, 3), 5);
  EXPECT_EQ(PairsNeeded(target, 9), 10);  // capped
}

}  // namespace
}  // namespace sgdspectra
