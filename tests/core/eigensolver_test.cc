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

}  // namespace
}  // namespace sgdspectra
