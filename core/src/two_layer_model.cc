#include "sgdspectra/core/two_layer_model.h"

#include <cmath>

namespace sgdspectra {

double Softplus(double f) { return f > 0 ? f + std::log1p(std::exp(-f)) : std::log1p(std::exp(f)); }

double Sigmoid(double f) {
  if (f >= 0) return 1.0 / (1.0 + std::exp(-f));
  const double e = std::exp(f);
  return e / (1.0 + e);
}

TwoLayerStepOutcome TwoLayerSgdStep(TwoLayerParams& params, const double* x, int label, double step,
                                    double alpha, double* scratch) {
  const long k = params.w.rows();
  const long d = params.w.cols();
  Eigen::Map<const VectorXd> input(x, d);
  Eigen::Map<VectorXd> pre(scratch, k);
  Eigen::Map<VectorXd> hidden(scratch + k, k);
  pre.noalias() = params.w * input;
  hidden = pre.cwiseMax(0.0);
  const double f = params.v.dot(hidden);
  const double y = label;
  const double r = Sigmoid(f) - y;
  const TwoLayerStepOutcome outcome{Softplus(f) - y * f, (f > 0) == (label == 1)};
  const double shrink = 1.0 - step * alpha;
  for (long i = 0; i < k; ++i) {
    const double coeff = pre[i] > 0 ? step * r * params.v[i] : 0.0;
    params.w.row(i) = shrink * params.w.row(i) - coeff * input.transpose();
  }
  params.v = shrink * params.v - step * r * hidden;
  return outcome;
}

TwoLayerEvaluation EvaluateTwoLayer(const TwoLayerParams& params, const SampleSet& samples) {
  const RowMatrix pre = samples.inputs * params.w.transpose();  // M x K
  return EvaluateFromPreactivations(pre, params.v, samples.labels);
}

TwoLayerEvaluation EvaluateFromPreactivations(const RowMatrix& pre, const VectorXd& v,
                                              const std::vector<int>& labels) {
  const long m = pre.rows();
  TwoLayerEvaluation eval;
  eval.hidden = pre.cwiseMax(0.0);
  eval.active = (pre.array() > 0.0).cast<double>();
  const VectorXd logits = eval.hidden * v;
  eval.prob.resize(m);
  eval.curvature.resize(m);
  eval.residual.resize(m);
  double loss = 0;
  long correct = 0;
  for (long j = 0; j < m; ++j) {
    const double y = labels[j];
    const double s = Sigmoid(logits[j]);
    eval.prob[j] = s;
    eval.curvature[j] = s * (1.0 - s);
    eval.residual[j] = s - y;
    loss += Softplus(logits[j]) - y * logits[j];
    correct += (logits[j] > 0) == (labels[j] == 1);
  }
  eval.loss = loss / m;
  eval.accuracy = static_cast<double>(correct) / m;
  return eval;
}

void TwoLayerLossGradient(const TwoLayerParams& params, const SampleSet& samples,
                          const TwoLayerEvaluation& eval, double alpha, RowMatrix* grad_w,
                          VectorXd* grad_v) {
  const double m = static_cast<double>(samples.size());
  // Row j of the first-layer factor: r_j v_i a_ji.
  const RowMatrix factor =
      (eval.active.array().rowwise() * params.v.transpose().array()).colwise() *
      eval.residual.array();
  *grad_w = factor.transpose() * samples.inputs / m + alpha * params.w;
  *grad_v = eval.hidden.transpose() * eval.residual / m + alpha * params.v;
}

}  // namespace sgdspectra
