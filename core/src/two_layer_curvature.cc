#include "sgdspectra/core/two_layer_curvature.h"

#include <cmath>

namespace sgdspectra {

VectorXd NeuronBlockWeights(const TwoLayerEvaluation& eval, const VectorXd& v, int neuron,
                            bool g_matrix) {
  const VectorXd per_sample = g_matrix ? VectorXd(eval.residual.array().square()) : eval.curvature;
  return (v[neuron] * v[neuron]) * per_sample.cwiseProduct(eval.active.col(neuron));
}

RowMatrix FirstLayerFactors(const TwoLayerEvaluation& eval, const VectorXd& v, bool g_matrix) {
  const VectorXd scale = g_matrix ? eval.residual : VectorXd(eval.curvature.cwiseSqrt());
  return (eval.active.array().rowwise() * v.transpose().array()).colwise() * scale.array();
}

MatrixXd SecondLayerMatrix(const TwoLayerEvaluation& eval, bool g_matrix) {
  const VectorXd w = g_matrix ? VectorXd(eval.residual.array().square()) : eval.curvature;
  const double m = static_cast<double>(eval.hidden.rows());
  return eval.hidden.transpose() * w.asDiagonal() * eval.hidden / m;
}

void TwoLayerFullMixing::Apply(long begin, long end, const double* z, const double* extra_in,
                               double* out, double* extra_acc) const {
  const long k = v_.size();
  for (long j = begin; j < end; ++j) {
    const double* zj = z + (j - begin) * k;
    double* oj = out + (j - begin) * k;
    const double* a = eval_.active.row(j).data();
    const double* h = eval_.hidden.row(j).data();
    const double r = eval_.residual[j];
    // c = (v.a) . z, the first layer's part of the per-sample directional derivative;
    // hu = h . u, the second layer's part.
    double c = 0, hu = 0;
    for (long i = 0; i < k; ++i) {
      c += v_[i] * a[i] * zj[i];
      hu += h[i] * extra_in[i];
    }
    if (g_matrix_) {
      // Gradient outer product: g = r (v.a kron X, h), g . x = r (c + hu).
      const double coeff = r * r * (c + hu);
      for (long i = 0; i < k; ++i) {
        oj[i] = coeff * v_[i] * a[i];
        extra_acc[i] += coeff * h[i];
      }
    } else {
      const double sp = eval_.curvature[j];
      const double coeff = sp * (c + hu);
      for (long i = 0; i < k; ++i) {
        oj[i] = coeff * v_[i] * a[i] + r * a[i] * extra_in[i];
        extra_acc[i] += coeff * h[i] + r * a[i] * zj[i];
      }
    }
  }
}

}  // namespace sgdspectra
