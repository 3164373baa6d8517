#include "sgdspectra/core/softmax_model.h"

#include <algorithm>
#include <cmath>

namespace sgdspectra {

double StableSoftmax(const double* logits, int k, double* probs) {
  double max_logit = logits[0];
  for (int c = 1; c < k; ++c) max_logit = std::max(max_logit, logits[c]);
  double total = 0;
  for (int c = 0; c < k; ++c) {
    probs[c] = std::exp(logits[c] - max_logit);
    total += probs[c];
  }
  for (int c = 0; c < k; ++c) probs[c] /= total;
  return max_logit + std::log(total);
}

StepOutcome SoftmaxSgdStep(RowMatrix& weights, const double* y, int label, double step,
                           double ridge_beta, double* logits, double* probs) {
  const int k = static_cast<int>(weights.rows());
  const long d = weights.cols();
  // Logits: one gemv over the row-major k x d weights (k dot products of length d).
  Eigen::Map<const VectorXd> input(y, d);
  Eigen::Map<VectorXd> logit_vec(logits, k);
  logit_vec.noalias() = weights * input;
  const double log_partition = StableSoftmax(logits, k, probs);
  int predicted = 0;
  for (int c = 1; c < k; ++c) {
    if (logits[c] > logits[predicted]) predicted = c;
  }
  const StepOutcome outcome{log_partition - logits[label], predicted == label};
  // x^c <- (1 - step beta) x^c - step (pi_c - y_c) Y: one rank-one update with the ridge's
  // shrink folded in, a single read-modify-write pass over the weights (the step is memory
  // bound: k d doubles in, k d out). The coefficients reuse the probs scratch.
  const double shrink = 1.0 - step * ridge_beta;
  for (int c = 0; c < k; ++c) probs[c] = step * (probs[c] - (c == label ? 1.0 : 0.0));
  // Last row first: the rows the gemv read last are the ones still in L1.
  for (int c = k - 1; c >= 0; --c) {
    double* w = weights.data() + c * d;
    const double coeff = probs[c];
    for (long i = 0; i < d; ++i) w[i] = shrink * w[i] - coeff * y[i];
  }
  return outcome;
}

SoftmaxEvaluation EvaluateSoftmax(const RowMatrix& weights, const SampleSet& samples) {
  const long m = samples.size();
  const int k = static_cast<int>(weights.rows());
  SoftmaxEvaluation eval;
  RowMatrix logits = samples.inputs * weights.transpose();  // M x k
  eval.probs.resize(m, k);
  double loss = 0;
  long correct = 0;
  for (long j = 0; j < m; ++j) {
    const double lse = StableSoftmax(logits.row(j).data(), k, eval.probs.row(j).data());
    const int label = samples.labels[j];
    loss += lse - logits(j, label);
    Eigen::Index predicted;
    logits.row(j).maxCoeff(&predicted);
    if (predicted == label) ++correct;
  }
  eval.loss = loss / m;
  eval.accuracy = static_cast<double>(correct) / m;
  return eval;
}

RowMatrix SoftmaxLossGradient(const RowMatrix& weights, const SampleSet& samples,
                              const RowMatrix& probs, double ridge_beta) {
  const long m = samples.size();
  RowMatrix residual = probs;  // M x k: pi - y
  for (long j = 0; j < m; ++j) residual(j, samples.labels[j]) -= 1.0;
  RowMatrix grad = residual.transpose() * samples.inputs / static_cast<double>(m);
  grad += ridge_beta * weights;
  return grad;
}

}  // namespace sgdspectra
