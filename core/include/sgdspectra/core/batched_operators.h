// Families of symmetric operators of one size, applied together: the lockstep eigen-solver's
// view of the N class (or neuron) blocks of one snapshot. One Apply multiplies an n x width
// block of vectors, each column by its own family member, so the products over a shared sample
// are matrix-matrix (BLAS-3) rather than `width` separate matrix-vector passes over it.
//
// The class/neuron blocks are A_i = (1/M) Y^T diag(w_i) Y over one row-major M x d sample Y:
// applying several of them to several vectors reads Y from memory once per row chunk:
//     Z = Y_c X,   R = W(c, which) .* Z,   acc += Y_c^T R.
//
// Determinism: SampleDiagonalFamily uses SampleGramOperator's fixed reduction blocks
// (SampleGramOperator::NumReductionBlocks(M)); each block's partial is computed by one thread
// and partials are added in block order, so results are bit-identical whatever the pool's
// thread count. Column results depend on the width of the call (GEMM blocking) but never on
// the values of the other columns.
//
// Ownership: operators keep references to the sample, the weights, the wrapped operator and
// the pool; all must outlive the operator. Thread-safety: Apply may not run concurrently on
// one operator (it reuses internal buffers).
#ifndef SGDSPECTRA_CORE_BATCHED_OPERATORS_H_
#define SGDSPECTRA_CORE_BATCHED_OPERATORS_H_

#include <vector>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/thread_pool.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

// N symmetric operators A_0 .. A_{N-1} on R^n.
class BatchedSymmetricOperator {
 public:
  virtual ~BatchedSymmetricOperator() = default;
  virtual long size() const = 0;  // n
  virtual int count() const = 0;  // N
  // For i in [0, width): column i of y = A_{which[i]} (column i of x). x and y are n x width,
  // column-major with leading dimension n, and do not alias; which[i] in [0, count()) and may
  // repeat. A column's result must not depend on the other columns' values (it may depend on
  // width; callers keep the width sequence deterministic).
  virtual void Apply(const int* which, int width, const double* x, double* y) const = 0;
};

// N = 1 over an ordinary SymmetricOperator (a full matrix): Apply loops over the columns.
class SingleBatchedOperator : public BatchedSymmetricOperator {
 public:
  explicit SingleBatchedOperator(const SymmetricOperator& op) : op_(op) {}
  long size() const override { return op_.size(); }
  int count() const override { return 1; }
  void Apply(const int* which, int width, const double* x, double* y) const override;

 private:
  const SymmetricOperator& op_;
};

// A_i = (1/M) Y^T diag(w_i) Y, i in [0, N): the diagonal-mixing blocks (DiagonalMixing) of one
// sample Y (M x d, row-major), with the weights as the columns of W (M x N, column-major).
// A_i equals SampleGramOperator(Y, DiagonalMixing(W.col(i)), pool) up to rounding.
class SampleDiagonalFamily : public BatchedSymmetricOperator {
 public:
  SampleDiagonalFamily(const RowMatrix& samples, const MatrixXd& weights, ThreadPool* pool);

  long size() const override { return samples_.cols(); }
  int count() const override { return static_cast<int>(weights_.cols()); }
  void Apply(const int* which, int width, const double* x, double* y) const override;

 private:
  // One reduction block's partial sum (d x cols) for a panel of `cols` columns.
  void AccumulateBlock(long block, const int* which, int cols, const double* x,
                       double* partial) const;

  const RowMatrix& samples_;
  const MatrixXd& weights_;
  ThreadPool* pool_;
  long num_blocks_;
  long rows_per_chunk_;
  int panel_columns_;                     // columns per pass over the sample (bounds partials_)
  mutable std::vector<double> partials_;  // num_blocks x d x panel
};

// Forms A_which densely by applying it to the identity. For tests and cross-checks only.
MatrixXd DenseMatrixOf(const BatchedSymmetricOperator& op, int which);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_BATCHED_OPERATORS_H_
