#include "sgdspectra/core/softmax_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/gaussian_mixture.h"

namespace sgdspectra {
namespace {

struct Problem {
  GaussianMixture mixture;
  SampleSet samples;
  RowMatrix weights;
};

Problem MakeProblem(long d, int k, long m, uint64_t seed) {
  Problem p;
  EXPECT_TRUE(
      GaussianMixture::MakeKgmm(d, k, {}, {}, 4.0, seed, kLatestRandomStreamVersion, &p.mixture)
          .ok());
  p.samples = p.mixture.DrawSampleSet(m, seed, RngStream::kTestSample, nullptr);
  Rng rng(seed, RngStream::kInit);
  p.weights.resize(k, d);
  for (long i = 0; i < p.weights.size(); ++i) p.weights.data()[i] = rng.Normal();
  return p;
}

double TotalLoss(const RowMatrix& w, const SampleSet& s, double beta) {
  return EvaluateSoftmax(w, s).loss + 0.5 * beta * w.squaredNorm();
}

TEST(SoftmaxTest, StableSoftmaxHandlesLargeLogits) {
  const double logits[3] = {1000.0, 999.0, -1000.0};
  double probs[3];
  const double lse = StableSoftmax(logits, 3, probs);
  EXPECT_NEAR(probs[0], 1.0 / (1.0 + std::exp(-1.0)), 1e-15);
  EXPECT_NEAR(probs[0] + probs[1] + probs[2], 1.0, 1e-15);
  EXPECT_NEAR(lse, 1000.0 + std::log(1.0 + std::exp(-1.0)), 1e-12);
}

TEST(SoftmaxTest, LossGradientMatchesCentralFiniteDifferences) {
  const double beta = 0.3;
  Problem p = MakeProblem(12, 3, 50, 5);
  const SoftmaxEvaluation eval = EvaluateSoftmax(p.weights, p.samples);
  const RowMatrix grad = SoftmaxLossGradient(p.weights, p.samples, eval.probs, beta);
  // Central differences have error O(h^2 f''') ~ 1e-8 and rounding O(eps / h) ~ 1e-11.
  const double h = 1e-4;
  for (long i = 0; i < p.weights.size(); ++i) {
    RowMatrix plus = p.weights, minus = p.weights;
    plus.data()[i] += h;
    minus.data()[i] -= h;
    const double fd =
        (TotalLoss(plus, p.samples, beta) - TotalLoss(minus, p.samples, beta)) / (2 * h);
    EXPECT_NEAR(grad.data()[i], fd, 1e-6) << "coordinate " << i;
  }
}

TEST(SoftmaxTest, SgdStepFollowsTheClosedFormGradient) {
  Problem p = MakeProblem(10, 4, 1, 9);
  const double step = 0.01, beta = 0.1;
  const RowMatrix before = p.weights;
  double logits[4], probs[4];
  SoftmaxSgdStep(p.weights, p.samples.inputs.row(0).data(), p.samples.labels[0], step, beta, logits,
                 probs);
  const SoftmaxEvaluation eval = EvaluateSoftmax(before, p.samples);
  const RowMatrix grad = SoftmaxLossGradient(before, p.samples, eval.probs, beta);
  EXPECT_LT((p.weights - (before - step * grad)).cwiseAbs().maxCoeff(), 1e-14);
}

// The full Hessian operator must be the derivative of the data-fit gradient: an independent
// check of the closed form (diag(pi) - pi pi^T) kron Y Y^T.
TEST(SoftmaxTest, FullHessianOperatorMatchesFiniteDifferenceOfGradient) {
  Problem p = MakeProblem(15, 3, 80, 21);
  const long n = p.weights.size();
  const SoftmaxEvaluation eval = EvaluateSoftmax(p.weights, p.samples);
  SoftmaxHessianMixing mixing(eval.probs);
  SampleGramOperator hessian(p.samples.inputs, mixing, nullptr);
  Rng rng(3, 3);
  VectorXd v(n);
  rng.FillNormal(v.data(), n);
  VectorXd hv(n);
  hessian.Apply(v.data(), hv.data());
  const double h = 1e-5;
  RowMatrix plus = p.weights, minus = p.weights;
  Eigen::Map<VectorXd>(plus.data(), n) += h * v;
  Eigen::Map<VectorXd>(minus.data(), n) -= h * v;
  const RowMatrix gp =
      SoftmaxLossGradient(plus, p.samples, EvaluateSoftmax(plus, p.samples).probs, 0);
  const RowMatrix gm =
      SoftmaxLossGradient(minus, p.samples, EvaluateSoftmax(minus, p.samples).probs, 0);
  const VectorXd fd =
      (Eigen::Map<const VectorXd>(gp.data(), n) - Eigen::Map<const VectorXd>(gm.data(), n)) /
      (2 * h);
  EXPECT_LT((hv - fd).norm() / hv.norm(), 1e-7);
}

}  // namespace
}  // namespace sgdspectra
