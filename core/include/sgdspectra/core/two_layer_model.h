// The two-layer network of docs/SCIENCE.md, Task B: hidden width K, first layer W (K x d, row i =
// W_i) with ReLU and no biases, second layer v (K), output sigmoid(v . relu(W X)); loss = binary
// cross-entropy + (alpha/2)(|v|^2 + |W|^2). With h = relu(W X), a_i = 1{W_i . X > 0},
// f = v . h, s = sigmoid(f), s' = s(1 - s), r = s - y.
//
// Pure functions over caller-owned data; thread-safe when callers do not share outputs.
#ifndef SGDSPECTRA_CORE_TWO_LAYER_MODEL_H_
#define SGDSPECTRA_CORE_TWO_LAYER_MODEL_H_

#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

struct TwoLayerParams {
  RowMatrix w;  // K x d
  VectorXd v;   // K
};

// Numerically stable log(1 + e^f) and 1 / (1 + e^-f).
double Softplus(double f);
double Sigmoid(double f);

struct TwoLayerStepOutcome {
  double loss;  // data-fit loss at the pre-step parameters
  bool correct;
};
// One SGD step on (x, y): W_i -= step (r v_i a_i x + alpha W_i), v -= step (r h + alpha v),
// both gradients taken at the pre-step parameters. scratch: 2K doubles.
TwoLayerStepOutcome TwoLayerSgdStep(TwoLayerParams& params, const double* x, int label, double step,
                                    double alpha, double* scratch);

// Network quantities on a whole sample.
struct TwoLayerEvaluation {
  RowMatrix hidden;     // M x K: h_j = relu(W X_j)
  RowMatrix active;     // M x K: a_j in {0, 1}
  VectorXd prob;        // s_j
  VectorXd curvature;   // s'_j = s_j (1 - s_j)
  VectorXd residual;    // r_j = s_j - y_j
  double loss = 0;      // mean data-fit binary cross-entropy
  double accuracy = 0;  // prediction 1{f > 0}
};
TwoLayerEvaluation EvaluateTwoLayer(const TwoLayerParams& params, const SampleSet& samples);
// The same from pre-activations W X_j (M x K) and labels: for inputs that are not stored
// (the decoy null's, which differ from the test inputs only in their cluster centres).
TwoLayerEvaluation EvaluateFromPreactivations(const RowMatrix& pre, const VectorXd& v,
                                              const std::vector<int>& labels);

// Gradient of the mean data-fit loss plus the ridge: grad_w (K x d), grad_v (K).
void TwoLayerLossGradient(const TwoLayerParams& params, const SampleSet& samples,
                          const TwoLayerEvaluation& eval, double alpha, RowMatrix* grad_w,
                          VectorXd* grad_v);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_TWO_LAYER_MODEL_H_
