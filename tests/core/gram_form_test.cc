#include "sgdspectra/core/gram_form.h"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cstring>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/thread_pool.h"

namespace sgdspectra {
namespace {

RowMatrix RandomRows(long rows, long cols, uint64_t seed) {
  Rng rng(seed, 11);
  RowMatrix a(rows, cols);
  rng.FillNormal(a.data(), a.size());
  return a;
}

// The G-matrix (1/M) sum_j (e_j e_j^T) kron (Y_j Y_j^T), formed densely through the
// matrix-free operator the Gram form replaces: the independent truth here.
MatrixXd DenseG(const RowMatrix& samples, const RowMatrix& factors) {
  const OuterProductMixing mixing(factors);
  const SampleGramOperator op(samples, mixing, nullptr);
  return DenseMatrixOf(op);
}

TEST(GramFormTest, InnerProductsAreExactAndThreadCountIndependent) {
  const RowMatrix y = RandomRows(700, 40, 1);  // several 256-row tiles, a ragged last one
  ThreadPool one(1), three(3);
  const MatrixXd a = SampleInnerProducts(y, &one);
  const MatrixXd b = SampleInnerProducts(y, &three);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(double) * a.size()));
  const MatrixXd reference = y * y.transpose();
  EXPECT_LT((a - reference).cwiseAbs().maxCoeff(), 1e-12 * reference.cwiseAbs().maxCoeff());
}

// The cancel hook is polled once per 256-row tile: a hook that fires at its third poll leaves
// the first two tiles computed (equal to the uncancelled product) and skips the third.
TEST(GramFormTest, InnerProductsStopBetweenTilesWhenCancelled) {
  const RowMatrix y = RandomRows(700, 40, 1);  // tiles of 256, 256 and 188 rows
  const MatrixXd full = SampleInnerProducts(y, nullptr);
  int polls = 0;
  const MatrixXd partial = SampleInnerProducts(y, nullptr, [&polls] { return ++polls > 2; });
  EXPECT_EQ(polls, 3);
  EXPECT_EQ(partial.topRows(512), full.topRows(512));
}

TEST(GramFormTest, GramSpectrumIsTheNonzeroSpectrumOfG) {
  // d = 30, m = 3 (A is 90 x 90) over M = 40 samples: A has rank 40 and 50 zero eigenvalues.
  const long d = 30, m = 3, samples_count = 40;
  const RowMatrix y = RandomRows(samples_count, d, 2);
  const RowMatrix e = RandomRows(samples_count, m, 3);
  const MatrixXd a = DenseG(y, e);
  const MatrixXd k = GramOfOuterProducts(y * y.transpose(), e);
  Eigen::SelfAdjointEigenSolver<MatrixXd> dense_a(a), dense_k(k);
  const VectorXd top_a = dense_a.eigenvalues().tail(samples_count).reverse();
  const VectorXd top_k = dense_k.eigenvalues().reverse();
  const double scale = top_a[0];
  for (long i = 0; i < samples_count; ++i) {
    EXPECT_NEAR(top_k[i], top_a[i], 1e-12 * scale) << i;
  }
  // The rest of A's spectrum is zero (rank <= M).
  EXPECT_LT(dense_a.eigenvalues().head(d * m - samples_count).cwiseAbs().maxCoeff(), 1e-12 * scale);
}

TEST(GramFormTest, LiftedVectorsAreUnitEigenvectorsOfG) {
  const long d = 25, m = 4, samples_count = 60;
  const RowMatrix y = RandomRows(samples_count, d, 4);
  const RowMatrix e = RandomRows(samples_count, m, 5);
  const MatrixXd a = DenseG(y, e);
  const MatrixXd k = GramOfOuterProducts(y * y.transpose(), e);
  Eigen::SelfAdjointEigenSolver<MatrixXd> dense_k(k);
  const int r = 6;
  const VectorXd values = dense_k.eigenvalues().tail(r).reverse();
  const MatrixXd vectors = dense_k.eigenvectors().rightCols(r).rowwise().reverse();
  const MatrixXd lifted = LiftGramEigenvectors(y, e, values, vectors);
  ASSERT_EQ(lifted.rows(), d * m);
  ASSERT_EQ(lifted.cols(), r);
  for (int i = 0; i < r; ++i) {
    const VectorXd u = lifted.col(i);
    EXPECT_NEAR(u.norm(), 1.0, 1e-12) << i;
    EXPECT_LT((a * u - values[i] * u).norm(), 1e-12 * values[0]) << i;
  }
  // Distinct eigenvalues: the lifted vectors are orthonormal.
  EXPECT_LT((lifted.transpose() * lifted - MatrixXd::Identity(r, r)).cwiseAbs().maxCoeff(), 1e-12);
}

}  // namespace
}  // namespace sgdspectra
