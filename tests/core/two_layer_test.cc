#include <gtest/gtest.h>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/two_layer_curvature.h"
#include "sgdspectra/core/two_layer_model.h"

namespace sgdspectra {
namespace {

// A small XOR sample at random weights. Noise is large enough (lambda = 2) that every neuron
// is active on a good fraction of samples, so every block is exercised.
class TwoLayerTest : public ::testing::Test {
 protected:
  static constexpr long kDim = 14;
  static constexpr int kHidden = 3;
  static constexpr long kSamples = 400;
  static constexpr double kAlpha = 0.1;

  void SetUp() override {
    mixture_ = GaussianMixture::MakeXor(kDim, 2.0, 3, kLatestRandomStreamVersion);
    samples_ = mixture_.DrawSampleSet(kSamples, 3, RngStream::kTestSample, nullptr);
    Rng rng(3, RngStream::kInit);
    params_.w.resize(kHidden, kDim);
    params_.v.resize(kHidden);
    rng.FillNormal(params_.w.data(), params_.w.size());
    rng.FillNormal(params_.v.data(), kHidden);
    eval_ = EvaluateTwoLayer(params_, samples_);
  }

  // Full parameter vector in the operators' layout: (W_1, ..., W_K, v).
  VectorXd Flatten(const TwoLayerParams& p) const {
    VectorXd x(kHidden * kDim + kHidden);
    x.head(kHidden * kDim) = Eigen::Map<const VectorXd>(p.w.data(), kHidden * kDim);
    x.tail(kHidden) = p.v;
    return x;
  }
  TwoLayerParams Unflatten(const VectorXd& x) const {
    TwoLayerParams p;
    p.w = Eigen::Map<const RowMatrix>(x.data(), kHidden, kDim);
    p.v = x.tail(kHidden);
    return p;
  }
  VectorXd Gradient(const VectorXd& x, double alpha) const {
    const TwoLayerParams p = Unflatten(x);
    RowMatrix gw;
    VectorXd gv;
    TwoLayerLossGradient(p, samples_, EvaluateTwoLayer(p, samples_), alpha, &gw, &gv);
    TwoLayerParams g{gw, gv};
    return Flatten(g);
  }
  double Loss(const VectorXd& x, double alpha) const {
    const TwoLayerParams p = Unflatten(x);
    return EvaluateTwoLayer(p, samples_).loss + 0.5 * alpha * x.squaredNorm();
  }
  // Per-sample data-fit gradient in the full layout: (r v_i a_i X ..., r h).
  VectorXd SampleGradient(long j) const {
    VectorXd g(kHidden * kDim + kHidden);
    for (int i = 0; i < kHidden; ++i) {
      g.segment(i * kDim, kDim) = eval_.residual[j] * params_.v[i] * eval_.active(j, i) *
                                  samples_.inputs.row(j).transpose();
    }
    g.tail(kHidden) = eval_.residual[j] * eval_.hidden.row(j).transpose();
    return g;
  }

  GaussianMixture mixture_;
  SampleSet samples_;
  TwoLayerParams params_;
  TwoLayerEvaluation eval_;
};

TEST_F(TwoLayerTest, XorMixtureHasFourOrthonormalClustersWithPairedLabels) {
  const RowMatrix& c = mixture_.centers();
  EXPECT_NEAR(c.row(0).norm(), 1.0, 1e-14);
  EXPECT_NEAR(c.row(2).norm(), 1.0, 1e-14);
  EXPECT_NEAR(c.row(0).dot(c.row(2)), 0.0, 1e-14);
  EXPECT_EQ((c.row(0) + c.row(1)).norm(), 0.0);
  EXPECT_EQ(mixture_.cluster_labels(), (std::vector<int>{1, 1, 0, 0}));
}

TEST_F(TwoLayerTest, GradientMatchesCentralFiniteDifferences) {
  const VectorXd x = Flatten(params_);
  const VectorXd grad = Gradient(x, kAlpha);
  // Error O(h^2) ~ 1e-10 away from ReLU kinks; a kink within h of a sample has probability
  // ~ M h / typical pre-activation ~ 4e-4 per coordinate.
  const double h = 1e-6;
  for (long i = 0; i < x.size(); ++i) {
    VectorXd plus = x, minus = x;
    plus[i] += h;
    minus[i] -= h;
    EXPECT_NEAR(grad[i], (Loss(plus, kAlpha) - Loss(minus, kAlpha)) / (2 * h), 1e-6) << i;
  }
}

TEST_F(TwoLayerTest, FullHessianIncludingCrossBlocksMatchesFiniteDifferenceOfGradient) {
  const VectorXd x = Flatten(params_);
  TwoLayerFullMixing mixing(eval_, params_.v, /*g_matrix=*/false);
  SampleGramOperator hessian(samples_.inputs, mixing, nullptr);
  ASSERT_EQ(hessian.size(), x.size());
  const MatrixXd dense = DenseMatrixOf(hessian);
  const double h = 1e-6;
  for (long i = 0; i < x.size(); ++i) {
    VectorXd plus = x, minus = x;
    plus[i] += h;
    minus[i] -= h;
    const VectorXd fd = (Gradient(plus, 0) - Gradient(minus, 0)) / (2 * h);
    EXPECT_LT((dense.col(i) - fd).norm(), 1e-6 * (1 + fd.norm())) << "column " << i;
  }
  EXPECT_LT((dense - dense.transpose()).norm(), 1e-12 * dense.norm());
}

TEST_F(TwoLayerTest, FullGMatrixIsMeanOfPerSampleGradientOuterProducts) {
  TwoLayerFullMixing mixing(eval_, params_.v, /*g_matrix=*/true);
  SampleGramOperator g(samples_.inputs, mixing, nullptr);
  MatrixXd expected = MatrixXd::Zero(g.size(), g.size());
  for (long j = 0; j < kSamples; ++j) {
    const VectorXd gj = SampleGradient(j);
    expected += gj * gj.transpose();
  }
  expected /= kSamples;
  EXPECT_LT((DenseMatrixOf(g) - expected).norm(), 1e-12 * expected.norm());
}

TEST_F(TwoLayerTest, LayerAndNeuronBlocksAreSubBlocksOfTheFullMatrices) {
  for (bool g_matrix : {false, true}) {
    TwoLayerFullMixing full_mixing(eval_, params_.v, g_matrix);
    const MatrixXd full = DenseMatrixOf(SampleGramOperator(samples_.inputs, full_mixing, nullptr));
    const long first = kHidden * kDim;
    OuterProductMixing first_mixing(FirstLayerFactors(eval_, params_.v, g_matrix));
    const MatrixXd first_layer =
        DenseMatrixOf(SampleGramOperator(samples_.inputs, first_mixing, nullptr));
    EXPECT_LT((first_layer - full.topLeftCorner(first, first)).norm(), 1e-12 * full.norm());
    const MatrixXd second = SecondLayerMatrix(eval_, g_matrix);
    EXPECT_LT((second - full.bottomRightCorner(kHidden, kHidden)).norm(), 1e-12 * full.norm());
    for (int i = 0; i < kHidden; ++i) {
      DiagonalMixing neuron_mixing(NeuronBlockWeights(eval_, params_.v, i, g_matrix));
      const MatrixXd block =
          DenseMatrixOf(SampleGramOperator(samples_.inputs, neuron_mixing, nullptr));
      EXPECT_LT((block - full.block(i * kDim, i * kDim, kDim, kDim)).norm(), 1e-12 * full.norm())
          << "neuron " << i << (g_matrix ? " G" : " H");
    }
  }
}

TEST_F(TwoLayerTest, SgdStepFollowsTheGradient) {
  const double step = 1e-3;
  const TwoLayerParams before = params_;
  SampleSet one;
  one.inputs = samples_.inputs.topRows(1);
  one.noise = samples_.noise.topRows(1);
  one.labels = {samples_.labels[0]};
  one.clusters = {samples_.clusters[0]};
  RowMatrix gw;
  VectorXd gv;
  TwoLayerLossGradient(before, one, EvaluateTwoLayer(before, one), kAlpha, &gw, &gv);
  double scratch[2 * kHidden];
  TwoLayerSgdStep(params_, one.inputs.row(0).data(), one.labels[0], step, kAlpha, scratch);
  EXPECT_LT((params_.w - (before.w - step * gw)).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_LT((params_.v - (before.v - step * gv)).cwiseAbs().maxCoeff(), 1e-15);
}

}  // namespace
}  // namespace sgdspectra
