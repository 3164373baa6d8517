#include "sgdspectra/core/curvature_operators.h"

#include <gtest/gtest.h>

#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/softmax_model.h"

namespace sgdspectra {
namespace {

// A small k-GMM sample and softmax outputs at random weights; the dense matrices below are
// built by explicit per-sample sums, independently of the operators' batched kernels.
class CurvatureOperatorTest : public ::testing::Test {
 protected:
  static constexpr long kDim = 24;
  static constexpr int kClasses = 3;
  static constexpr long kSamples = 700;  // several reduction blocks and chunks

  void SetUp() override {
    ASSERT_TRUE(GaussianMixture::MakeKgmm(kDim, kClasses, {}, {}, 5.0, 17,
                                          kLatestRandomStreamVersion, &mixture_)
                    .ok());
    samples_ = mixture_.DrawSampleSet(kSamples, 17, RngStream::kTestSample, nullptr);
    Rng rng(17, RngStream::kInit);
    weights_.resize(kClasses, kDim);
    for (long i = 0; i < weights_.size(); ++i) weights_.data()[i] = rng.Normal();
    probs_ = EvaluateSoftmax(weights_, samples_).probs;
    residual_ = probs_;
    for (long j = 0; j < kSamples; ++j) residual_(j, samples_.labels[j]) -= 1.0;
  }

  // (1/M) sum_j S_j kron Y_j Y_j^T with S_j given per sample.
  template <typename MixFn>
  MatrixXd DenseKron(MixFn mix, int m) const {
    MatrixXd a = MatrixXd::Zero(m * kDim, m * kDim);
    for (long j = 0; j < kSamples; ++j) {
      const VectorXd y = samples_.inputs.row(j).transpose();
      const MatrixXd yy = y * y.transpose();
      const MatrixXd s = mix(j);
      for (int b = 0; b < m; ++b) {
        for (int c = 0; c < m; ++c) a.block(b * kDim, c * kDim, kDim, kDim) += s(b, c) * yy;
      }
    }
    return a / kSamples;
  }

  static double RelativeError(const MatrixXd& a, const MatrixXd& b) {
    return (a - b).norm() / b.norm();
  }

  GaussianMixture mixture_;
  SampleSet samples_;
  RowMatrix weights_, probs_, residual_;
};

TEST_F(CurvatureOperatorTest, ClassBlockHessianAndGMatchDense) {
  for (int c = 0; c < kClasses; ++c) {
    VectorXd wh(kSamples), wg(kSamples);
    for (long j = 0; j < kSamples; ++j) {
      wh[j] = probs_(j, c) * (1 - probs_(j, c));
      wg[j] = residual_(j, c) * residual_(j, c);
    }
    DiagonalMixing mh(wh), mg(wg);
    SampleGramOperator h(samples_.inputs, mh, nullptr), g(samples_.inputs, mg, nullptr);
    const MatrixXd dense_h = DenseKron([&](long j) { return MatrixXd::Constant(1, 1, wh[j]); }, 1);
    const MatrixXd dense_g = DenseKron([&](long j) { return MatrixXd::Constant(1, 1, wg[j]); }, 1);
    EXPECT_LT(RelativeError(DenseMatrixOf(h), dense_h), 1e-12);
    EXPECT_LT(RelativeError(DenseMatrixOf(g), dense_g), 1e-12);
  }
}

TEST_F(CurvatureOperatorTest, FullHessianMatchesDenseKronecker) {
  SoftmaxHessianMixing mixing(probs_);
  SampleGramOperator h(samples_.inputs, mixing, nullptr);
  const MatrixXd dense = DenseKron(
      [&](long j) {
        const VectorXd p = probs_.row(j).transpose();
        return MatrixXd(MatrixXd(p.asDiagonal()) - p * p.transpose());
      },
      kClasses);
  EXPECT_LT(RelativeError(DenseMatrixOf(h), dense), 1e-12);
}

TEST_F(CurvatureOperatorTest, FullGMatrixEqualsMeanOfPerSampleGradientOuterProducts) {
  OuterProductMixing mixing(residual_);
  SampleGramOperator g(samples_.inputs, mixing, nullptr);
  // Per-sample data-fit gradient: (pi - y) kron Y, flattened class by class.
  MatrixXd dense = MatrixXd::Zero(kClasses * kDim, kClasses * kDim);
  for (long j = 0; j < kSamples; ++j) {
    VectorXd grad(kClasses * kDim);
    for (int c = 0; c < kClasses; ++c) {
      grad.segment(c * kDim, kDim) = residual_(j, c) * samples_.inputs.row(j).transpose();
    }
    dense += grad * grad.transpose();
  }
  dense /= kSamples;
  EXPECT_LT(RelativeError(DenseMatrixOf(g), dense), 1e-12);
}

TEST_F(CurvatureOperatorTest, ResultIsBitIdenticalForAnyThreadCount) {
  SoftmaxHessianMixing mixing(probs_);
  Rng rng(1, 1);
  VectorXd x(kClasses * kDim);
  rng.FillNormal(x.data(), x.size());
  SampleGramOperator serial(samples_.inputs, mixing, nullptr);
  VectorXd expected(x.size());
  serial.Apply(x.data(), expected.data());
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    SampleGramOperator parallel(samples_.inputs, mixing, &pool);
    VectorXd got(x.size());
    parallel.Apply(x.data(), got.data());
    for (long i = 0; i < x.size(); ++i) ASSERT_EQ(got[i], expected[i]) << threads << " threads";
  }
}

TEST(ReductionBlocksTest, DependOnlyOnRowCountAndAreBounded) {
  EXPECT_EQ(SampleGramOperator::NumReductionBlocks(10), 1);
  EXPECT_EQ(SampleGramOperator::NumReductionBlocks(1000), 7);
  EXPECT_EQ(SampleGramOperator::NumReductionBlocks(1000000), 32);
}

}  // namespace
}  // namespace sgdspectra
