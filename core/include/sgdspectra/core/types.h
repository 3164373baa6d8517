// Shared matrix types. Sample matrices are row-major (one sample per contiguous row) so
// row blocks stream through cache; parameter matrices are row-major too (one class vector,
// or one neuron's weights, per row).
#ifndef SGDSPECTRA_CORE_TYPES_H_
#define SGDSPECTRA_CORE_TYPES_H_

#include <Eigen/Core>
#include <functional>

namespace sgdspectra {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// Polled between units of work; returning true asks the work to stop (Ceres-style callback).
using CancelFn = std::function<bool()>;

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_TYPES_H_
