// The bulk edge of a weighted (deformed) Marchenko-Pastur law: where the spectrum of a sample
// matrix built from pure noise ends, given the per-sample weights the matrix applies.
//
// The model. M samples y_j ~ N(0, s2 I_d), independent of k x k symmetric weights W_j, and
//     A = (1/M) sum_j W_j (x) y_j y_j^T          (kd x kd; k = 1: (1/M) Y^T diag(w) Y).
// Every analysed matrix of sgdspectra has this form, with the means adding a low-rank part that
// makes outliers and leaves the bulk in place: class and neuron blocks (k = 1, w_j the block's
// weights), the k-GMM full Hessian (W_j = diag(p_j) - p_j p_j^T) and G-matrix (W_j = e_j e_j^T),
// the XOR first layer (W_j = f_j f_j^T).
//
// As d, M grow with gamma = d / M fixed, the resolvent (A - z)^{-1} tends to R(z) (x) I_d with
// R the k x k solution of the matrix Dyson equation (a = s2 gamma)
//     R^{-1} = -z I + (s2 / M) sum_j W_j (I + a R W_j)^{-1},
// which for k = 1 is Silverstein's equation. The right edge of the support is:
//   k = 1: the minimum over m in (-1 / (a w_max), 0) of
//          z(m) = -1/m + (s2 / M) sum_j w_j / (1 + a w_j m),
//          a convex function there (z' is monotone, so bisection on z' finds it to rounding);
//   k > 1: the smallest real z at which the equation still has its physical real solution
//          (R negative definite, I + a R W_j with positive eigenvalues), found by bisection on
//          z with Newton's method warm-started from the solution above. Below the edge the
//          real solution has merged with its partner (a fold) and Newton fails.
// For constant weights w both give s2 w (1 + sqrt(gamma))^2, the Marchenko-Pastur edge.
//
// Pure functions; thread-safe.
#ifndef SGDSPECTRA_CORE_BULK_EDGE_H_
#define SGDSPECTRA_CORE_BULK_EDGE_H_

#include "sgdspectra/core/types.h"

namespace sgdspectra {

// Per-sample weights W_j = diag(diagonal_j) + outer_sign * outer_j outer_j^T, row j of each
// M x k matrix; either may have 0 columns (absent). Owns its matrices.
struct SampleWeightMatrices {
  RowMatrix diagonal;
  RowMatrix outer;
  double outer_sign = 1.0;

  long num_samples() const { return diagonal.cols() > 0 ? diagonal.rows() : outer.rows(); }
  int width() const {
    return static_cast<int>(diagonal.cols() > 0 ? diagonal.cols() : outer.cols());
  }
  // W_j (k x k).
  MatrixXd Weight(long j) const;
  // Scalar weights w (M), for width() == 1.
  VectorXd Scalars() const;
};

// The right edge for scalar weights (k = 1), by the minimum of z(m). w may have any sign; the
// edge is 0 when no weight is positive. dim: d, the length of each y_j.
double DeformedMarchenkoPasturEdge(const VectorXd& weights, double noise_variance, long dim);

// The right edge for k x k weights (any k; k = 1 goes to the scalar function above). The
// weights should be positive semi-definite (every analysed matrix's are): negative eigenvalues
// of a W_j count as zero in the matrix route.
double DeformedMarchenkoPasturEdge(const SampleWeightMatrices& weights, double noise_variance,
                                   long dim);

// The matrix-equation route for any k, k = 1 included: what the k > 1 case uses, exposed so a
// test can compare it with the scalar minimum. relative_tol: of the bisection in z.
double DysonEquationEdge(const SampleWeightMatrices& weights, double noise_variance, long dim,
                         double relative_tol = 1e-7);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_BULK_EDGE_H_
