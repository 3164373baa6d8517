// Curvature of the two-layer network (docs/SCIENCE.md, Task B) as matrix-free mixings for
// SampleGramOperator, and the small second-layer matrices.
//
// Blocks (data-fit part, ReLU'' = 0 a.e.):
//   neuron block i (d x d):       H: s' v_i^2 a_i X X^T          G: r^2 v_i^2 a_i X X^T
//   first layer (Kd x Kd):        H: s' (v.a)(v.a)^T kron X X^T  G: r^2 (v.a)(v.a)^T kron X X^T
//   second layer (K x K):         H: s' h h^T                    G: r^2 h h^T
//   full (Kd + K), vector (W_1..W_K, u): the first layer and second layer with the cross block
//     H_{v_j W_i} = (s' v_i h_j + r 1{i=j}) a_i X,  G_{v_j W_i} = r^2 v_i h_j a_i X.
// Neuron and first-layer blocks use DiagonalMixing / OuterProductMixing with factors built
// here; the full matrix uses the augmented mixings below.
//
// Ownership: mixings keep references to the evaluation and the weights, which must outlive
// them. Thread-safety: Apply is const and may run concurrently on disjoint rows.
#ifndef SGDSPECTRA_CORE_TWO_LAYER_CURVATURE_H_
#define SGDSPECTRA_CORE_TWO_LAYER_CURVATURE_H_

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/two_layer_model.h"

namespace sgdspectra {

// Per-sample weights of neuron block i: s' v_i^2 a_i (H) or r^2 v_i^2 a_i (G).
VectorXd NeuronBlockWeights(const TwoLayerEvaluation& eval, const VectorXd& v, int neuron,
                            bool g_matrix);
// Row j = sqrt(s'_j) (v . a_j) (H) or r_j (v . a_j) (G): the first layer's rank-one mixing.
RowMatrix FirstLayerFactors(const TwoLayerEvaluation& eval, const VectorXd& v, bool g_matrix);
// The K x K second-layer matrix: (1/M) sum_j w_j h_j h_j^T with w = s' (H) or r^2 (G).
MatrixXd SecondLayerMatrix(const TwoLayerEvaluation& eval, bool g_matrix);

// The full matrix's mixing over (W, u): width K, K extra coordinates.
class TwoLayerFullMixing : public SampleMixing {
 public:
  TwoLayerFullMixing(const TwoLayerEvaluation& eval, const VectorXd& v, bool g_matrix)
      : eval_(eval), v_(v), g_matrix_(g_matrix) {}
  int width() const override { return static_cast<int>(v_.size()); }
  int extra_width() const override { return static_cast<int>(v_.size()); }
  void Apply(long begin, long end, const double* z, const double* extra_in, double* out,
             double* extra_acc) const override;

 private:
  const TwoLayerEvaluation& eval_;
  const VectorXd& v_;
  bool g_matrix_;
};

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_TWO_LAYER_CURVATURE_H_
