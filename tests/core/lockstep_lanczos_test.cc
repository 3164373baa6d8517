#include "sgdspectra/core/lockstep_lanczos.h"

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <cmath>
#include <cstring>
#include <vector>

#include "sgdspectra/core/batched_operators.h"
#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/random.h"
#include "sgdspectra/core/thread_pool.h"

namespace sgdspectra {
namespace {

// Dense symmetric matrices seen as one batched family; each column is its own GEMV, so a
// column's result does not even depend on the width of the call.
class DenseFamily : public BatchedSymmetricOperator {
 public:
  explicit DenseFamily(std::vector<MatrixXd> a) : a_(std::move(a)) {}
  long size() const override { return a_[0].rows(); }
  int count() const override { return static_cast<int>(a_.size()); }
  void Apply(const int* which, int width, const double* x, double* y) const override {
    const long n = size();
    for (int i = 0; i < width; ++i) {
      Eigen::Map<VectorXd>(y + i * n, n).noalias() =
          a_[which[i]] * Eigen::Map<const VectorXd>(x + i * n, n);
    }
  }
  const MatrixXd& matrix(int i) const { return a_[i]; }

 private:
  std::vector<MatrixXd> a_;
};

// Q diag(lambda) Q^T with Q a random orthogonal matrix: the spectrum is known by construction.
MatrixXd WithSpectrum(const VectorXd& lambda, uint64_t seed) {
  const long n = lambda.size();
  Rng rng(seed, 11);
  MatrixXd g(n, n);
  rng.FillNormal(g.data(), g.size());
  const MatrixXd q = Eigen::HouseholderQR<MatrixXd>(g).householderQ();
  const MatrixXd a = q * lambda.asDiagonal() * q.transpose();
  return 0.5 * (a + a.transpose());
}

// A bulk uniform in [lo, hi] followed by the given outliers.
VectorXd BulkPlus(long n, double lo, double hi, const std::vector<double>& outliers,
                  uint64_t seed) {
  Rng rng(seed, 12);
  VectorXd lambda(n);
  for (long i = 0; i < n; ++i) lambda[i] = lo + (hi - lo) * rng.Uniform();
  for (size_t i = 0; i < outliers.size(); ++i) lambda[static_cast<long>(i)] = outliers[i];
  return lambda;
}

VectorXd DenseTop(const MatrixXd& a, int r) {
  Eigen::SelfAdjointEigenSolver<MatrixXd> eig(a, Eigen::EigenvaluesOnly);
  return eig.eigenvalues().tail(r).reverse();
}

double SpectralNorm(const MatrixXd& a) {
  Eigen::SelfAdjointEigenSolver<MatrixXd> eig(a, Eigen::EigenvaluesOnly);
  return eig.eigenvalues().cwiseAbs().maxCoeff();
}

// Values against the dense solver, residuals and orthonormality of the returned vectors.
// Values: a residual r gives an eigenvalue error of at most r (and r^2 / gap once separated),
// so 1e-9 relative is loose against tol = 1e-10. Residuals: tol |theta| from the estimate plus
// the product's rounding, a few eps ||A|| sqrt(n).
void ExpectPairsMatchDense(const LanczosOutcome& got, const MatrixXd& a) {
  const int r = got.converged;
  ASSERT_EQ(got.values.size(), r);
  ASSERT_EQ(got.vectors.cols(), r);
  const VectorXd expected = DenseTop(a, r);
  const double norm = SpectralNorm(a);
  for (int i = 0; i < r; ++i) {
    EXPECT_NEAR(got.values[i], expected[i], 1e-9 * std::max(std::abs(expected[i]), 1e-3 * norm))
        << i;
    const VectorXd v = got.vectors.col(i);
    EXPECT_LT((a * v - got.values[i] * v).norm(), 1e-9 * norm) << i;
  }
  const MatrixXd gram = got.vectors.transpose() * got.vectors;
  EXPECT_LT((gram - MatrixXd::Identity(r, r)).cwiseAbs().maxCoeff(), 1e-12);
}

std::vector<LanczosOutcome> SolveOne(const MatrixXd& a, const LanczosTarget& target) {
  const DenseSymmetricOperator op(a);
  const SingleBatchedOperator batched(op);
  return LockstepLanczos(batched, {target}, nullptr);
}

TEST(LockstepLanczosTest, KnownSpectrumWithClustersAndOutliers) {
  // Outliers, a tight cluster (gaps 1e-4), and a negative tail that must not be returned.
  const VectorXd lambda =
      BulkPlus(300, -1.0, 1.0, {10.0, 8.0, 6.0, 4.0, 4.0001, 4.0002, 3.0, -5.0, -7.0}, 1);
  const MatrixXd a = WithSpectrum(lambda, 1);
  LanczosTarget target;
  target.min_pairs = 12;
  const std::vector<LanczosOutcome> got = SolveOne(a, target);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].dense);
  EXPECT_FALSE(got[0].cancelled);
  EXPECT_EQ(got[0].wanted, 12);
  ASSERT_EQ(got[0].converged, 12);
  EXPECT_GT(got[0].products, 0);
  ExpectPairsMatchDense(got[0], a);
  // And against the spectrum by construction (the formed matrix is exact to rounding).
  EXPECT_NEAR(got[0].values[0], 10.0, 1e-12 * 10);
  EXPECT_NEAR(got[0].values[3], 4.0002, 1e-12 * 10);
  EXPECT_NEAR(got[0].values[5], 4.0, 1e-12 * 10);
}

TEST(LockstepLanczosTest, PositiveDefiniteWishartBulk) {
  // No outliers at all: the slowest case for the top pairs.
  Rng rng(2, 13);
  MatrixXd y(800, 400);
  rng.FillNormal(y.data(), y.size());
  const MatrixXd a = y.transpose() * y / 800.0;
  LanczosTarget target;
  target.min_pairs = 6;
  const std::vector<LanczosOutcome> got = SolveOne(a, target);
  ASSERT_EQ(got[0].converged, 6);
  ExpectPairsMatchDense(got[0], a);
}

TEST(LockstepLanczosTest, ThresholdTargetCertifiesTheCount) {
  // Exactly 5 eigenvalues above 2.0; the bulk is in [0, 1].
  const MatrixXd a = WithSpectrum(BulkPlus(300, 0.0, 1.0, {7.0, 6.0, 5.0, 4.0, 3.0}, 3), 3);
  LanczosTarget target;
  target.threshold = 2.0;
  target.pairs_below = 2;
  const LanczosOutcome got = SolveOne(a, target)[0];
  EXPECT_EQ(got.wanted, 7);
  ASSERT_EQ(got.converged, 7);
  EXPECT_EQ(got.above_threshold, 5);
  EXPECT_TRUE(got.threshold_certified);
  ExpectPairsMatchDense(got, a);

  // pairs_below = 0 still converges one pair below: it is what certifies the count.
  target.pairs_below = 0;
  const LanczosOutcome one_below = SolveOne(a, target)[0];
  EXPECT_EQ(one_below.converged, 6);
  EXPECT_EQ(one_below.above_threshold, 5);
  EXPECT_TRUE(one_below.threshold_certified);

  // A cap below the count: the count is only a lower bound.
  target.max_pairs = 3;
  const LanczosOutcome capped = SolveOne(a, target)[0];
  ASSERT_EQ(capped.converged, 3);
  EXPECT_EQ(capped.above_threshold, 3);
  EXPECT_FALSE(capped.threshold_certified);
  ExpectPairsMatchDense(capped, a);
}

TEST(LockstepLanczosTest, ThresholdBeyondTheInitialBasisGrowsIt) {
  // 40 outliers above the threshold: more than the initial basis of 20 can hold.
  std::vector<double> outliers;
  for (int i = 0; i < 40; ++i) outliers.push_back(3.0 + 0.25 * i);
  const MatrixXd a = WithSpectrum(BulkPlus(400, 0.0, 1.0, outliers, 4), 4);
  LanczosTarget target;
  target.threshold = 2.0;
  target.pairs_below = 1;
  const LanczosOutcome got = SolveOne(a, target)[0];
  ASSERT_EQ(got.converged, 41);
  EXPECT_EQ(got.above_threshold, 40);
  EXPECT_TRUE(got.threshold_certified);
  EXPECT_GT(got.basis_size, 41);
  ExpectPairsMatchDense(got, a);
}

TEST(LockstepLanczosTest, LockstepMatchesSeparateSolvesAndDense) {
  std::vector<MatrixXd> matrices;
  std::vector<LanczosTarget> targets(6);
  for (int i = 0; i < 6; ++i) {
    const long n = 250;
    matrices.push_back(WithSpectrum(
        BulkPlus(n, -0.5 * i, 1.0, {6.0 + i, 5.0, 4.5 - 0.1 * i, 2.5, 2.0 + 0.3 * i}, 20 + i),
        20 + i));
    targets[i].start_seed = 100 + i;
  }
  targets[0].min_pairs = 1;
  targets[1].min_pairs = 3;
  targets[2].min_pairs = 10;
  targets[3].threshold = 1.5;  // 5 above
  targets[3].pairs_below = 2;
  targets[4].threshold = 3.0;  // 3 above, then capped at 2
  targets[4].max_pairs = 2;
  targets[5].min_pairs = 25;  // larger than the initial basis
  const DenseFamily family(matrices);
  const std::vector<LanczosOutcome> together = LockstepLanczos(family, targets, nullptr);
  ASSERT_EQ(together.size(), 6u);
  const std::vector<int> expected_counts = {1, 3, 10, 7, 2, 25};
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    const LanczosOutcome alone = SolveOne(matrices[i], targets[i])[0];
    ASSERT_EQ(together[i].converged, expected_counts[i]);
    ASSERT_EQ(alone.converged, together[i].converged);
    EXPECT_EQ(alone.products, together[i].products);
    for (int p = 0; p < alone.converged; ++p) {
      EXPECT_NEAR(together[i].values[p], alone.values[p], 1e-12 * std::abs(alone.values[p]));
    }
    ExpectPairsMatchDense(together[i], matrices[i]);
  }
  EXPECT_TRUE(together[3].threshold_certified);
  EXPECT_FALSE(together[4].threshold_certified);
  EXPECT_EQ(together[0].seconds, together[5].seconds);
}

// A sample with planted directions, so the diagonal blocks have outliers like class blocks.
RowMatrix PlantedSample(long m, long d, uint64_t seed) {
  Rng rng(seed, 14);
  RowMatrix y(m, d);
  rng.FillNormal(y.data(), y.size());
  RowMatrix means(3, d);
  rng.FillNormal(means.data(), means.size());
  for (long j = 0; j < m; ++j) y.row(j) += 0.3 * means.row(j % 3);
  return y;
}

MatrixXd PositiveWeights(long m, int count, uint64_t seed) {
  Rng rng(seed, 15);
  MatrixXd w(m, count);
  for (long i = 0; i < w.size(); ++i) w.data()[i] = 0.05 + rng.Uniform();
  return w;
}

TEST(SampleDiagonalFamilyTest, MatchesDenseSumsAndGramOperator) {
  const long m = 700, d = 24;  // several reduction blocks and row chunks
  const RowMatrix y = PlantedSample(m, d, 5);
  const MatrixXd w = PositiveWeights(m, 4, 5);
  const SampleDiagonalFamily family(y, w, nullptr);
  EXPECT_EQ(family.size(), d);
  EXPECT_EQ(family.count(), 4);
  for (int i = 0; i < 4; ++i) {
    MatrixXd dense = MatrixXd::Zero(d, d);
    for (long j = 0; j < m; ++j) {
      const VectorXd yj = y.row(j).transpose();
      dense += w(j, i) * yj * yj.transpose();
    }
    dense /= static_cast<double>(m);
    const MatrixXd got = DenseMatrixOf(family, i);
    EXPECT_LT((got - dense).norm() / dense.norm(), 1e-12) << i;
    const DiagonalMixing mixing(w.col(i));
    const SampleGramOperator gram(y, mixing, nullptr);
    EXPECT_LT((got - DenseMatrixOf(gram)).norm() / dense.norm(), 1e-12) << i;
  }
}

TEST(SampleDiagonalFamilyTest, BitIdenticalAcrossThreadCounts) {
  const long m = 1500, d = 90;
  const RowMatrix y = PlantedSample(m, d, 6);
  const MatrixXd w = PositiveWeights(m, 5, 6);
  // 150 columns: several column panels, members repeated and in any order.
  const int width = 150;
  std::vector<int> which(width);
  for (int i = 0; i < width; ++i) which[i] = (7 * i + 3) % 5;
  MatrixXd x(d, width);
  Rng rng(6, 16);
  rng.FillNormal(x.data(), x.size());
  MatrixXd serial(d, width), one(d, width), three(d, width);
  SampleDiagonalFamily(y, w, nullptr).Apply(which.data(), width, x.data(), serial.data());
  ThreadPool pool1(1), pool3(3);
  SampleDiagonalFamily(y, w, &pool1).Apply(which.data(), width, x.data(), one.data());
  SampleDiagonalFamily(y, w, &pool3).Apply(which.data(), width, x.data(), three.data());
  EXPECT_EQ(std::memcmp(serial.data(), one.data(), sizeof(double) * serial.size()), 0);
  EXPECT_EQ(std::memcmp(serial.data(), three.data(), sizeof(double) * serial.size()), 0);
  // Each column is its member's product (to the width-dependent rounding).
  for (int i = 0; i < width; i += 37) {
    const DiagonalMixing mixing(w.col(which[i]));
    const SampleGramOperator gram(y, mixing, nullptr);
    VectorXd expected(d);
    gram.Apply(x.col(i).data(), expected.data());
    EXPECT_LT((serial.col(i) - expected).norm(), 1e-12 * expected.norm()) << i;
  }
}

TEST(SampleDiagonalFamilyTest, LockstepSolvesMatchSeparateSolvesAndSpectra) {
  const long m = 600, d = 300;
  const RowMatrix y = PlantedSample(m, d, 7);
  const int count = 4, r = 8;
  const MatrixXd w = PositiveWeights(m, count, 7);
  ThreadPool pool(3);
  const SampleDiagonalFamily family(y, w, &pool);
  std::vector<LanczosTarget> targets(count);
  for (int i = 0; i < count; ++i) {
    targets[i].min_pairs = r;
    targets[i].start_seed = i;
  }
  const std::vector<LanczosOutcome> together = LockstepLanczos(family, targets, nullptr);
  ASSERT_EQ(together.size(), static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(together[i].converged, r);
    // Alone: a one-member family over the same weights (products of width 1, so they round
    // differently from the batched ones: agreement is to rounding, not bits).
    const MatrixXd wi = w.col(i);
    const SampleDiagonalFamily single(y, wi, &pool);
    const LanczosOutcome alone = LockstepLanczos(single, {targets[i]}, nullptr)[0];
    ASSERT_EQ(alone.converged, r);
    // The same Spectra solve the rest of the code base uses, on the SampleGramOperator.
    const DiagonalMixing mixing(w.col(i));
    const SampleGramOperator gram(y, mixing, &pool);
    const EigenResult spectra = TopEigenpairs(gram, r, SolverSettings{}, 1, nullptr);
    ASSERT_EQ(spectra.converged, r);
    for (int p = 0; p < r; ++p) {
      EXPECT_NEAR(together[i].values[p], alone.values[p], 1e-12 * std::abs(alone.values[p]));
      EXPECT_NEAR(together[i].values[p], spectra.values[p], 1e-9 * std::abs(spectra.values[p]));
    }
    ExpectPairsMatchDense(together[i], DenseMatrixOf(gram));
  }
}

TEST(LockstepLanczosTest, SingleOperatorMatchesSpectraOnSampleGram) {
  const long m = 800, d = 200;
  const RowMatrix y = PlantedSample(m, d, 8);
  const MatrixXd w = PositiveWeights(m, 1, 8);
  const DiagonalMixing mixing(w.col(0));
  const SampleGramOperator gram(y, mixing, nullptr);
  const SingleBatchedOperator batched(gram);
  LanczosTarget target;
  target.min_pairs = 10;
  const LanczosOutcome got = LockstepLanczos(batched, {target}, nullptr)[0];
  const EigenResult spectra = TopEigenpairs(gram, 10, SolverSettings{}, 1, nullptr);
  ASSERT_EQ(got.converged, 10);
  ASSERT_EQ(spectra.converged, 10);
  for (int p = 0; p < 10; ++p) {
    EXPECT_NEAR(got.values[p], spectra.values[p], 1e-9 * std::abs(spectra.values[p])) << p;
  }
}

TEST(LockstepLanczosTest, CancelHookStopsEveryProblem) {
  std::vector<MatrixXd> matrices;
  for (int i = 0; i < 3; ++i) {
    matrices.push_back(WithSpectrum(BulkPlus(200, 0.0, 1.0, {3.0, 2.0}, 30 + i), 30 + i));
  }
  const DenseFamily family(matrices);
  int calls = 0;
  const CancelFn cancel = [&] { return ++calls > 5; };
  long last_progress = 0;
  const std::vector<LanczosOutcome> got =
      LockstepLanczos(family, std::vector<LanczosTarget>(3), cancel,
                      [&](long products) { last_progress = products; });
  ASSERT_EQ(got.size(), 3u);
  for (const LanczosOutcome& outcome : got) {
    EXPECT_TRUE(outcome.cancelled);
    EXPECT_EQ(outcome.converged, 0);
    EXPECT_EQ(outcome.values.size(), 0);
    EXPECT_EQ(outcome.products, 5);
  }
  EXPECT_EQ(last_progress, 15);
}

TEST(LockstepLanczosTest, RankDeficientMatrixBreaksDownCleanly) {
  // Rank 3: the Krylov space becomes invariant after 4 steps; the remaining pairs are zeros
  // found through random restarts orthogonal to the basis.
  const long n = 100;
  Rng rng(9, 17);
  MatrixXd u(n, 3);
  rng.FillNormal(u.data(), u.size());
  const MatrixXd a = u * Eigen::Vector3d(3.0, 2.0, 1.0).asDiagonal() * u.transpose();
  LanczosTarget target;
  target.min_pairs = 5;
  const LanczosOutcome got = SolveOne(a, target)[0];
  ASSERT_EQ(got.converged, 5);
  ExpectPairsMatchDense(got, a);
  const double norm = SpectralNorm(a);
  EXPECT_GT(got.values[2], 1e-3 * norm);
  EXPECT_LT(std::abs(got.values[3]), 1e-12 * norm);
  EXPECT_LT(std::abs(got.values[4]), 1e-12 * norm);
}

TEST(SampleDiagonalFamilyTest, RankDeficientBlocksConvergeTheirZeros) {
  // ReLU-like weights: 40 of the 80 samples are inactive, so each block has rank 40 < d and the
  // targets reach into the zero eigenvalues, which only rounding separates.
  const long m = 80, d = 200;
  const RowMatrix y = PlantedSample(m, d, 19);
  MatrixXd w = PositiveWeights(m, 2, 19);
  for (long j = 0; j < m; j += 2) w(j, 0) = 0.0;
  for (long j = 1; j < m; j += 2) w(j, 1) = 0.0;
  const SampleDiagonalFamily family(y, w, nullptr);
  std::vector<LanczosTarget> targets(2);
  targets[0].min_pairs = 45;
  targets[1].threshold = 1e-6;  // 40 above, then pairs in the zero cluster
  targets[1].pairs_below = 3;
  const std::vector<LanczosOutcome> got = LockstepLanczos(family, targets, nullptr);
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    EXPECT_FALSE(got[i].dense);
    ASSERT_EQ(got[i].converged, 43 + 2 * (1 - i));
    EXPECT_LT(got[i].restarts, 100);
    const MatrixXd a = DenseMatrixOf(family, i);
    ExpectPairsMatchDense(got[i], a);
    EXPECT_LT(std::abs(got[i].values[got[i].converged - 1]), 1e-12 * SpectralNorm(a));
  }
  EXPECT_EQ(got[1].above_threshold, 40);
  EXPECT_TRUE(got[1].threshold_certified);
}

TEST(LockstepLanczosTest, SmallSizesAreSolvedDensely) {
  const MatrixXd a = WithSpectrum(BulkPlus(30, 0.0, 1.0, {4.0, 3.0}, 10), 10);
  LanczosTarget target;
  target.min_pairs = 4;
  const LanczosOutcome got = SolveOne(a, target)[0];
  EXPECT_TRUE(got.dense);
  EXPECT_EQ(got.products, 30);
  ASSERT_EQ(got.converged, 4);
  ExpectPairsMatchDense(got, a);
}

TEST(LockstepLanczosTest, NonConvergenceIsReportedAsData) {
  Rng rng(11, 18);
  MatrixXd y(400, 400);
  rng.FillNormal(y.data(), y.size());
  const MatrixXd a = y.transpose() * y / 400.0;  // no gap at the top edge
  LanczosTarget target;
  target.min_pairs = 20;
  target.max_restarts = 0;
  target.tol = 1e-14;
  const LanczosOutcome got = SolveOne(a, target)[0];
  EXPECT_FALSE(got.cancelled);
  EXPECT_EQ(got.restarts, 0);
  EXPECT_LT(got.converged, got.wanted);
  EXPECT_EQ(got.values.size(), got.converged);
  EXPECT_EQ(got.vectors.cols(), got.converged);
}

TEST(LockstepLanczosTest, SameSeedSameBits) {
  const MatrixXd a = WithSpectrum(BulkPlus(200, 0.0, 1.0, {5.0, 4.0, 3.0}, 12), 12);
  LanczosTarget target;
  target.min_pairs = 4;
  target.start_seed = 77;
  const LanczosOutcome first = SolveOne(a, target)[0];
  const LanczosOutcome second = SolveOne(a, target)[0];
  ASSERT_EQ(first.converged, second.converged);
  for (int i = 0; i < first.converged; ++i) EXPECT_EQ(first.values[i], second.values[i]);
}

TEST(LockstepLanczosTest, MismatchedTargetsAreRejected) {
  const DenseFamily family({MatrixXd::Identity(80, 80), MatrixXd::Identity(80, 80)});
  EXPECT_TRUE(LockstepLanczos(family, {LanczosTarget{}}, nullptr).empty());
}

}  // namespace
}  // namespace sgdspectra
