// The one-layer softmax classifier of docs/SCIENCE.md, Task A: parameters x = (x^1..x^k), stored as
// a k x d row-major matrix (row c = x^c); loss = cross-entropy of softmax(x^c . Y) + (beta/2)|x|^2.
//
// Pure functions over caller-owned data; thread-safe when callers do not share outputs.
#ifndef SGDSPECTRA_CORE_SOFTMAX_MODEL_H_
#define SGDSPECTRA_CORE_SOFTMAX_MODEL_H_

#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/thread_pool.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

// Numerically stable softmax of k logits (max subtracted). Returns log-sum-exp.
double StableSoftmax(const double* logits, int k, double* probs);

// Data-fit cross-entropy of one sample: -log pi_label.
// One SGD step on sample (y, label): x^c -= step * ((pi_c - 1{c=label}) y + beta x^c).
// Returns the data-fit loss at the pre-step parameters, and whether the prediction was right.
// scratch_logits, scratch_probs: k doubles each, overwritten (contents on return unspecified).
struct StepOutcome {
  double loss;
  bool correct;
};
StepOutcome SoftmaxSgdStep(RowMatrix& weights, const double* y, int label, double step,
                           double ridge_beta, double* scratch_logits, double* scratch_probs);

// Softmax outputs on a whole sample set.
struct SoftmaxEvaluation {
  RowMatrix probs;  // M x k
  double loss = 0;  // mean data-fit cross-entropy (no ridge)
  double accuracy = 0;
};
SoftmaxEvaluation EvaluateSoftmax(const RowMatrix& weights, const SampleSet& samples);

// Gradient of the mean data-fit loss over the sample plus the ridge term, k x d:
// (1/M) sum_j (pi_j - y_j) Y_j^T + beta x.
RowMatrix SoftmaxLossGradient(const RowMatrix& weights, const SampleSet& samples,
                              const RowMatrix& probs, double ridge_beta);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SOFTMAX_MODEL_H_
