// The Gram form of a G-matrix: an exact reduction from md x md to M x M.
//
// A G-matrix with one rank-one term per sample,
//     A = (1/M) sum_j (e_j e_j^T) kron (Y_j Y_j^T) = B B^T,   B = (1/sqrt M) [e_1 kron Y_1, ...],
// (e_j in R^m the per-sample factor, e.g. p_j - y_j for the softmax; Y_j in R^d the sample) has
// the same nonzero eigenvalues as the M x M Gram matrix
//     K = B^T B = (1/M) (E E^T) o (Y Y^T)        (o: elementwise product),
// and if K w = theta w with |w| = 1 and theta > 0, then u = B w / sqrt(theta) is a unit
// eigenvector of A with the same eigenvalue. In the d x m layout of curvature_operators.h,
// column c of u is (1/sqrt(M theta)) Y^T (w o E[:, c]).
//
// Y Y^T depends only on the sample, so a run computes it once (SampleInnerProducts) and each
// snapshot forms K in O(M^2 m) and solves it with M^2 products instead of 4 M d m: the Gram
// form pays off whenever M < 4 d m and the M x M matrices fit in memory.
//
// Determinism: Y Y^T is computed in fixed row tiles, each tile by one thread, so the result is
// bit-identical for any thread count. Thread-safety: plain values; functions are reentrant.
#ifndef SGDSPECTRA_CORE_GRAM_FORM_H_
#define SGDSPECTRA_CORE_GRAM_FORM_H_

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/thread_pool.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

// The Gram form is used while the run's cached Y Y^T and N N^T (2 M^2 doubles) fit in this;
// above it the G-matrices stay matrix-free (at M = 2 x 10^4 the cache alone would be 6.4 GB,
// and computing it would cost 2 M^2 d flops per matrix).
constexpr double kGramCacheMaxBytes = 2.0 * (1ull << 30);
inline bool GramFormFits(long num_samples) {
  return 2.0 * 8.0 * static_cast<double>(num_samples) * static_cast<double>(num_samples) <=
         kGramCacheMaxBytes;
}

// Y Y^T (M x M) of a row-major sample, computed in fixed row tiles on the pool (may be null).
// `cancel` (may be empty) is polled before each tile: once it returns true the remaining tiles
// are skipped and the result is incomplete (the caller, cancelled, must not use it).
MatrixXd SampleInnerProducts(const RowMatrix& samples, ThreadPool* pool,
                             const CancelFn& cancel = nullptr);

// K = (1/M) (E E^T) o inner, with inner = Y Y^T and factors E (M x m).
MatrixXd GramOfOuterProducts(const MatrixXd& inner, const RowMatrix& factors);

// Lifts eigenpairs (theta_i, w_i) of K to unit eigenvectors of A, returned as columns of
// length m d in the d x m layout (column c of the block = class c). Pairs with theta_i <= 0
// (only possible at round-off level, A is positive semi-definite) give zero columns.
MatrixXd LiftGramEigenvectors(const RowMatrix& samples, const RowMatrix& factors,
                              const VectorXd& values, const MatrixXd& gram_vectors);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_GRAM_FORM_H_
