#include "sgdspectra/core/batched_operators.h"

#include <algorithm>

namespace sgdspectra {
namespace {

// A chunk of sample rows that stays in cache between Z = Y_c X and Y_c^T R, so each pass
// reads the sample from memory once. Larger than SampleGramOperator's chunk: with many
// columns the two products are GEMMs whose inner dimension is the chunk's row count, and a
// handful of rows would leave them bandwidth-bound on the accumulator instead.
constexpr long kChunkBytes = 256 * 1024;
constexpr long kMinChunkRows = 16;
// Bound on the per-block partial sums (num_blocks x d x panel doubles). A wider call is split
// into column panels of a fixed width; a panel of a few dozen columns already makes both
// products compute-bound, so the extra passes over the sample cost little.
constexpr long kPartialBytes = 64L * 1024 * 1024;
constexpr long kMinPanelColumns = 8;
constexpr long kMaxPanelColumns = 64;

}  // namespace

void SingleBatchedOperator::Apply(const int*, int width, const double* x, double* y) const {
  const long n = op_.size();
  for (int i = 0; i < width; ++i) op_.Apply(x + i * n, y + i * n);
}

SampleDiagonalFamily::SampleDiagonalFamily(const RowMatrix& samples, const MatrixXd& weights,
                                           ThreadPool* pool)
    : samples_(samples),
      weights_(weights),
      pool_(pool),
      num_blocks_(SampleGramOperator::NumReductionBlocks(samples.rows())),
      rows_per_chunk_(
          std::max(kMinChunkRows, kChunkBytes / (8 * std::max<long>(1, samples.cols())))) {
  const long d = std::max<long>(1, samples.cols());
  panel_columns_ = static_cast<int>(
      std::clamp(kPartialBytes / (8 * num_blocks_ * d), kMinPanelColumns, kMaxPanelColumns));
}

void SampleDiagonalFamily::AccumulateBlock(long block, const int* which, int cols, const double* x,
                                           double* partial) const {
  const long num_rows = samples_.rows();
  const long d = samples_.cols();
  const long begin = block * num_rows / num_blocks_;
  const long end = (block + 1) * num_rows / num_blocks_;
  Eigen::Map<const MatrixXd> v(x, d, cols);
  Eigen::Map<MatrixXd> acc(partial, d, cols);
  acc.setZero();
  MatrixXd z(rows_per_chunk_, cols);
  for (long c0 = begin; c0 < end; c0 += rows_per_chunk_) {
    const long rows = std::min(rows_per_chunk_, end - c0);
    auto chunk = samples_.middleRows(c0, rows);
    auto zc = z.topRows(rows);
    zc.noalias() = chunk * v;
    // R = W(chunk, which) .* Z, in place: column i is scaled by its own problem's weights.
    for (int i = 0; i < cols; ++i) {
      zc.col(i).array() *= weights_.col(which[i]).segment(c0, rows).array();
    }
    acc.noalias() += chunk.transpose() * zc;
  }
}

void SampleDiagonalFamily::Apply(const int* which, int width, const double* x, double* y) const {
  const long d = size();
  partials_.resize(static_cast<size_t>(num_blocks_ * d * std::min(width, panel_columns_)));
  // Panels are a fixed split of the call's columns, so a column's arithmetic depends only on
  // the width of the call, never on the thread count.
  for (int p0 = 0; p0 < width; p0 += panel_columns_) {
    const int cols = std::min(panel_columns_, width - p0);
    const long stride = d * cols;
    const double* xp = x + p0 * d;
    auto run_block = [&](long b) {
      AccumulateBlock(b, which + p0, cols, xp, partials_.data() + b * stride);
    };
    if (pool_ != nullptr) {
      pool_->ParallelFor(num_blocks_, run_block);
    } else {
      for (long b = 0; b < num_blocks_; ++b) run_block(b);
    }
    // Partials are added in block order: the same sum whatever thread ran which block.
    Eigen::Map<MatrixXd> out(y + p0 * d, d, cols);
    out = Eigen::Map<const MatrixXd>(partials_.data(), d, cols);
    for (long b = 1; b < num_blocks_; ++b)
      out += Eigen::Map<const MatrixXd>(partials_.data() + b * stride, d, cols);
    out /= static_cast<double>(samples_.rows());
  }
}

MatrixXd DenseMatrixOf(const BatchedSymmetricOperator& op, int which) {
  const long n = op.size();
  const MatrixXd identity = MatrixXd::Identity(n, n);
  MatrixXd a(n, n);
  const std::vector<int> ids(static_cast<size_t>(n), which);
  op.Apply(ids.data(), static_cast<int>(n), identity.data(), a.data());
  return a;
}

}  // namespace sgdspectra
