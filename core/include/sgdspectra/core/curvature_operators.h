// Matrix-free curvature operators over a fixed sample: the data-fit Hessian and G-matrix
// blocks of docs/SCIENCE.md, applied without ever forming a d x d or md x md matrix.
//
// Every block we analyse has the form
//     A = (1/M) sum_j (I_m kron Y_j) S_j (I_m kron Y_j)^T,      A in R^{md x md},
// with Y_j the j-th sample (d) and S_j a small m x m per-sample "mixing" matrix:
//   softmax class block (c,c):  m = 1, S_j = pi_jc (1 - pi_jc)          (H)
//                               m = 1, S_j = (pi_jc - y_jc)^2            (G)
//   softmax full matrix:        m = k, S_j = diag(pi_j) - pi_j pi_j^T    (H)
//                               m = k, S_j = (pi_j - y_j)(pi_j - y_j)^T  (G)
//   two-layer neuron block i:   m = 1; whole first layer: m = K, S_j rank one.
// A vector x in R^{md} is stored as a d x m column-major matrix V (column c = block c), so
//     A x = (1/M) Y^T R,   R_j = S_j (V^T Y_j),   Z = Y V,
// two matrix-matrix products over the sample. They are fused per cache-sized row chunk so the
// sample streams from memory once per product.
//
// Augmented operators (the two-layer network's full matrix) append e coordinates that are not
// in input space (the second-layer weights u): x = (V, u), n = md + e. The mixing then also
// reads u, and returns per-row contributions to the e extra outputs, which the operator sums
// and divides by M like the rest.
//
// Determinism: rows are split into a fixed number of reduction blocks that depends only on M;
// each block's partial sum is computed by one thread and partials are added in block order,
// so results are bit-identical whatever the pool's thread count.
//
// Ownership: operators keep references to the sample, the mixing and the pool; all must
// outlive the operator. Thread-safety: Apply may not run concurrently on one operator.
#ifndef SGDSPECTRA_CORE_CURVATURE_OPERATORS_H_
#define SGDSPECTRA_CORE_CURVATURE_OPERATORS_H_

#include <memory>
#include <vector>

#include "sgdspectra/core/thread_pool.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

// A symmetric linear operator on R^n (the eigen-solver's view of any matrix we analyse).
class SymmetricOperator {
 public:
  virtual ~SymmetricOperator() = default;
  virtual long size() const = 0;
  // y = A x; x and y hold size() doubles and do not alias.
  virtual void Apply(const double* x, double* y) const = 0;
};

// The per-sample mixing S_j. Implementations hold references to per-sample data (M rows).
class SampleMixing {
 public:
  virtual ~SampleMixing() = default;
  virtual int width() const = 0;                 // m
  virtual int extra_width() const { return 0; }  // e, coordinates outside input space
  // For rows j in [begin, end): out_j = (S_j applied to (z_j, extra_in)) restricted to input
  // space; z, out: row-major (end - begin) x m. Augmented mixings also ADD the rows' extra
  // outputs (not divided by M) to extra_acc[0..e); extra_in is x's last e entries.
  virtual void Apply(long begin, long end, const double* z, const double* extra_in, double* out,
                     double* extra_acc) const = 0;
};

// S_j = w_j (m = 1). weights: M entries.
class DiagonalMixing : public SampleMixing {
 public:
  explicit DiagonalMixing(VectorXd weights) : weights_(std::move(weights)) {}
  int width() const override { return 1; }
  void Apply(long begin, long end, const double* z, const double* extra_in, double* out,
             double* extra_acc) const override;
  const VectorXd& weights() const { return weights_; }

 private:
  VectorXd weights_;
};

// S_j = diag(p_j) - p_j p_j^T with p_j row j of probs (M x m): the softmax Hessian.
class SoftmaxHessianMixing : public SampleMixing {
 public:
  explicit SoftmaxHessianMixing(const RowMatrix& probs) : probs_(probs) {}
  int width() const override { return static_cast<int>(probs_.cols()); }
  void Apply(long begin, long end, const double* z, const double* extra_in, double* out,
             double* extra_acc) const override;

 private:
  const RowMatrix& probs_;
};

// S_j = e_j e_j^T with e_j row j of factors (M x m): G-matrices and rank-one Hessians.
class OuterProductMixing : public SampleMixing {
 public:
  explicit OuterProductMixing(RowMatrix factors) : factors_(std::move(factors)) {}
  int width() const override { return static_cast<int>(factors_.cols()); }
  void Apply(long begin, long end, const double* z, const double* extra_in, double* out,
             double* extra_acc) const override;

 private:
  RowMatrix factors_;
};

// A = (1/M) sum_j (I_m kron Y_j) S_j (I_m kron Y_j)^T (plus the mixing's extra coordinates)
// over the rows of `samples`.
class SampleGramOperator : public SymmetricOperator {
 public:
  SampleGramOperator(const RowMatrix& samples, const SampleMixing& mixing, ThreadPool* pool);

  long size() const override { return samples_.cols() * mixing_.width() + mixing_.extra_width(); }
  void Apply(const double* x, double* y) const override;

  // Fixed reduction-block count for M rows (part of the determinism contract).
  static long NumReductionBlocks(long num_rows);

 private:
  void AccumulateBlock(long block, const double* x, double* partial) const;

  const RowMatrix& samples_;
  const SampleMixing& mixing_;
  ThreadPool* pool_;
  long num_blocks_;
  long rows_per_chunk_;
  mutable std::vector<double> partials_;  // num_blocks x size()
};

// A symmetric matrix held densely, as an operator (the K x K second layer, the M x M Gram
// form of gram_form.h): y = A x by one gemv. Owns the matrix.
class DenseSymmetricOperator : public SymmetricOperator {
 public:
  explicit DenseSymmetricOperator(MatrixXd matrix) : matrix_(std::move(matrix)) {}
  long size() const override { return matrix_.rows(); }
  void Apply(const double* x, double* y) const override;
  const MatrixXd& matrix() const { return matrix_; }

 private:
  MatrixXd matrix_;
};

// Forms the operator's matrix by applying it to the identity, column by column.
// Dense: for tests and explicit cross-checks only (n must be small).
MatrixXd DenseMatrixOf(const SymmetricOperator& op);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_CURVATURE_OPERATORS_H_
