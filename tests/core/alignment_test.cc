#include "sgdspectra/core/alignment.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sgdspectra/core/random.h"

namespace sgdspectra {
namespace {

MatrixXd RandomBasis(long n, long r, uint64_t seed) {
  Rng rng(seed, 1);
  MatrixXd g(n, r);
  rng.FillNormal(g.data(), g.size());
  return OrthonormalBasis(g);
}

TEST(AlignmentTest, VectorInsideTheSpaceHasAlignmentOne) {
  const MatrixXd u = RandomBasis(200, 4, 1);
  const VectorXd v = u * VectorXd::LinSpaced(4, 1.0, 4.0);
  EXPECT_NEAR(Alignment(u, 4, v), 1.0, 1e-12);
  EXPECT_NEAR(ProjectedFraction(u, 4, v), 1.0, 1e-12);
}

TEST(AlignmentTest, OrthogonalVectorHasAlignmentZero) {
  const MatrixXd u = RandomBasis(50, 3, 2);
  VectorXd v = VectorXd::Ones(50);
  v -= u * (u.transpose() * v);
  EXPECT_NEAR(Alignment(u, 3, v), 0.0, 1e-12);
}

TEST(AlignmentTest, RandomVectorHasAlignmentAboutSqrtROverD) {
  // |U^T v|^2 / |v|^2 ~ Beta(r/2, (d-r)/2): mean r/d, standard deviation ~ sqrt(2r)/d.
  const long d = 1000, r = 4, trials = 400;
  const MatrixXd u = RandomBasis(d, r, 3);
  Rng rng(4, 4);
  double mean_sq = 0;
  VectorXd v(d);
  for (int t = 0; t < trials; ++t) {
    rng.FillNormal(v.data(), d);
    mean_sq += std::pow(Alignment(u, r, v), 2) / trials;
  }
  // Standard error of the mean: sqrt(2r)/d/sqrt(trials) = 1.4e-4 against r/d = 4e-3: 5 sigma.
  EXPECT_NEAR(mean_sq, static_cast<double>(r) / d, 7e-4);
  EXPECT_NEAR(std::sqrt(mean_sq), std::sqrt(static_cast<double>(r) / d), 0.01);
}

TEST(AlignmentTest, UsesOnlyTheFirstRColumnsAndHandlesEmpty) {
  const MatrixXd u = MatrixXd::Identity(5, 3);
  VectorXd v = VectorXd::Zero(5);
  v[2] = 1.0;
  EXPECT_NEAR(Alignment(u, 3, v), 1.0, 1e-15);
  EXPECT_NEAR(Alignment(u, 2, v), 0.0, 1e-15);
  EXPECT_EQ(Alignment(u, 0, v), 0.0);
  EXPECT_EQ(Alignment(u, 3, VectorXd::Zero(5)), 0.0);
}

TEST(OverlapTest, IdenticalSubspacesOverlapOneOrthogonalZeroHalfHalf) {
  const MatrixXd q = MatrixXd::Identity(6, 6);
  EXPECT_NEAR(SubspaceOverlap(q.leftCols(2), 2, q.leftCols(2)), 1.0, 1e-15);
  EXPECT_NEAR(SubspaceOverlap(q.leftCols(2), 2, q.rightCols(2)), 0.0, 1e-15);
  // span(e0, e2) against span(e0, e1): one of two directions inside.
  MatrixXd u(6, 2);
  u << 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0;
  EXPECT_NEAR(SubspaceOverlap(u, 2, q.leftCols(2)), 0.5, 1e-15);
}

}  // namespace
}  // namespace sgdspectra
