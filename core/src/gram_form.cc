#include "sgdspectra/core/gram_form.h"

#include <algorithm>
#include <cmath>

namespace sgdspectra {
namespace {

// Rows of Y Y^T computed per task: enough work per tile to amortise the GEMM packing, small
// enough for both cores to share the tiles evenly. Part of the determinism contract only in
// that it is fixed (not derived from the thread count).
constexpr long kInnerProductTileRows = 256;

}  // namespace

MatrixXd SampleInnerProducts(const RowMatrix& samples, ThreadPool* pool, const CancelFn& cancel) {
  const long m = samples.rows();
  MatrixXd inner(m, m);
  const long tiles = (m + kInnerProductTileRows - 1) / kInnerProductTileRows;
  auto tile = [&](long t) {
    // M = 4096 takes seconds: a cancel (a server's drain) stops it between tiles.
    if (cancel && cancel()) return;
    const long begin = t * kInnerProductTileRows;
    const long rows = std::min(kInnerProductTileRows, m - begin);
    inner.middleRows(begin, rows).noalias() = samples.middleRows(begin, rows) * samples.transpose();
  };
  if (pool != nullptr) {
    pool->ParallelFor(tiles, tile);
  } else {
    for (long t = 0; t < tiles; ++t) tile(t);
  }
  return inner;
}

MatrixXd GramOfOuterProducts(const MatrixXd& inner, const RowMatrix& factors) {
  const double m = static_cast<double>(factors.rows());
  MatrixXd gram = factors * factors.transpose();
  gram.array() *= inner.array() / m;
  return gram;
}

MatrixXd LiftGramEigenvectors(const RowMatrix& samples, const RowMatrix& factors,
                              const VectorXd& values, const MatrixXd& gram_vectors) {
  const long m = samples.rows(), d = samples.cols(), width = factors.cols();
  const long r = gram_vectors.cols();
  // Column (i, c) of the right-hand side is w_i o E[:, c] / sqrt(M theta_i); one GEMM with
  // Y^T lifts all of them.
  MatrixXd scaled(m, r * width);
  for (long i = 0; i < r; ++i) {
    const double scale = values[i] > 0 ? 1.0 / std::sqrt(static_cast<double>(m) * values[i]) : 0.0;
    for (long c = 0; c < width; ++c) {
      scaled.col(i * width + c) = scale * gram_vectors.col(i).cwiseProduct(factors.col(c));
    }
  }
  const MatrixXd lifted = samples.transpose() * scaled;  // d x (r m)
  // Column i of the lifted block, in the d x m layout, is the contiguous d*m slice.
  return Eigen::Map<const MatrixXd>(lifted.data(), d * width, r);
}

}  // namespace sgdspectra
