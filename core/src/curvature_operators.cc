#include "sgdspectra/core/curvature_operators.h"

#include <algorithm>

namespace sgdspectra {
namespace {

// A chunk of sample rows small enough to stay in cache between Z = Y_c V and Y_c^T R, so
// each product reads the sample from memory once.
constexpr long kChunkBytes = 192 * 1024;
// At large d a 192 KB chunk is a couple of rows, and every chunk re-packs the d x m right-hand
// side for a product that does almost no work: at d = 10^4 the full products ran at 6 GFlop/s
// with 2-row chunks and at 15 GFlop/s with 16 (bench: docs/PERFORMANCE.md). The chunk then
// lives in L3 rather than L2, which costs nothing measurable.
constexpr long kMinChunkRows = 16;
// Bounds on the number of reduction blocks: enough for the cores we expect, few enough that
// the partial sums stay cheap to store and add.
constexpr long kMaxReductionBlocks = 32;
constexpr long kMinRowsPerReductionBlock = 128;

}  // namespace

void DiagonalMixing::Apply(long begin, long end, const double* z, const double*, double* out,
                           double*) const {
  for (long j = begin; j < end; ++j) out[j - begin] = weights_[j] * z[j - begin];
}

void SoftmaxHessianMixing::Apply(long begin, long end, const double* z, const double*, double* out,
                                 double*) const {
  const long m = probs_.cols();
  for (long j = begin; j < end; ++j) {
    const double* p = probs_.row(j).data();
    const double* zj = z + (j - begin) * m;
    double* oj = out + (j - begin) * m;
    double pz = 0;
    for (long c = 0; c < m; ++c) pz += p[c] * zj[c];
    for (long c = 0; c < m; ++c) oj[c] = p[c] * (zj[c] - pz);
  }
}

void OuterProductMixing::Apply(long begin, long end, const double* z, const double*, double* out,
                               double*) const {
  const long m = factors_.cols();
  for (long j = begin; j < end; ++j) {
    const double* e = factors_.row(j).data();
    const double* zj = z + (j - begin) * m;
    double* oj = out + (j - begin) * m;
    double ez = 0;
    for (long c = 0; c < m; ++c) ez += e[c] * zj[c];
    for (long c = 0; c < m; ++c) oj[c] = e[c] * ez;
  }
}

long SampleGramOperator::NumReductionBlocks(long num_rows) {
  return std::clamp(num_rows / kMinRowsPerReductionBlock, 1L, kMaxReductionBlocks);
}

SampleGramOperator::SampleGramOperator(const RowMatrix& samples, const SampleMixing& mixing,
                                       ThreadPool* pool)
    : samples_(samples),
      mixing_(mixing),
      pool_(pool),
      num_blocks_(NumReductionBlocks(samples.rows())),
      rows_per_chunk_(
          std::max(kMinChunkRows, kChunkBytes / (8 * std::max<long>(1, samples.cols())))),
      partials_(static_cast<size_t>(num_blocks_) *
                (samples.cols() * mixing.width() + mixing.extra_width())) {}

void SampleGramOperator::AccumulateBlock(long block, const double* x, double* partial) const {
  const long num_rows = samples_.rows();
  const long d = samples_.cols();
  const long m = mixing_.width();
  const long begin = block * num_rows / num_blocks_;
  const long end = (block + 1) * num_rows / num_blocks_;
  const long e = mixing_.extra_width();
  Eigen::Map<const MatrixXd> v(x, d, m);
  Eigen::Map<MatrixXd> acc(partial, d, m);
  acc.setZero();
  double* extra_acc = partial + d * m;
  std::fill(extra_acc, extra_acc + e, 0.0);
  const double* extra_in = x + d * m;
  RowMatrix z(rows_per_chunk_, m);
  RowMatrix r(rows_per_chunk_, m);
  for (long c0 = begin; c0 < end; c0 += rows_per_chunk_) {
    const long rows = std::min(rows_per_chunk_, end - c0);
    auto chunk = samples_.middleRows(c0, rows);
    z.topRows(rows).noalias() = chunk * v;
    mixing_.Apply(c0, c0 + rows, z.data(), extra_in, r.data(), extra_acc);
    acc.noalias() += chunk.transpose() * r.topRows(rows);
  }
}

void SampleGramOperator::Apply(const double* x, double* y) const {
  const long n = size();
  auto run_block = [&](long b) { AccumulateBlock(b, x, partials_.data() + b * n); };
  if (pool_ != nullptr) {
    pool_->ParallelFor(num_blocks_, run_block);
  } else {
    for (long b = 0; b < num_blocks_; ++b) run_block(b);
  }
  // Partials are added in block order: the same sum whatever thread ran which block.
  Eigen::Map<VectorXd> out(y, n);
  out = Eigen::Map<const VectorXd>(partials_.data(), n);
  for (long b = 1; b < num_blocks_; ++b)
    out += Eigen::Map<const VectorXd>(partials_.data() + b * n, n);
  out /= static_cast<double>(samples_.rows());
}

void DenseSymmetricOperator::Apply(const double* x, double* y) const {
  // A plain gemv, not selfadjointView: Eigen's symmetric product peels its loops by the
  // vectors' alignment, so its rounding would depend on where the heap put them (same seed,
  // different bits), while the general gemv's does not.
  Eigen::Map<VectorXd>(y, size()).noalias() = matrix_ * Eigen::Map<const VectorXd>(x, size());
}

MatrixXd DenseMatrixOf(const SymmetricOperator& op) {
  const long n = op.size();
  MatrixXd a(n, n);
  VectorXd e = VectorXd::Zero(n);
  for (long i = 0; i < n; ++i) {
    e[i] = 1.0;
    op.Apply(e.data(), a.col(i).data());
    e[i] = 0.0;
  }
  return a;
}

}  // namespace sgdspectra
