#include "sgdspectra/core/alignment.h"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>

namespace sgdspectra {

double Alignment(const MatrixXd& basis, long r, const VectorXd& v) {
  r = std::min<long>(r, basis.cols());
  const double norm = v.norm();
  if (r <= 0 || norm == 0) return 0.0;
  return (basis.leftCols(r).transpose() * v).norm() / norm;
}

double SubspaceOverlap(const MatrixXd& basis, long r, const MatrixXd& reference) {
  r = std::min<long>(r, basis.cols());
  if (r <= 0) return 0.0;
  return (basis.leftCols(r).transpose() * reference).squaredNorm() / static_cast<double>(r);
}

MatrixXd OrthonormalBasis(const MatrixXd& a) {
  Eigen::HouseholderQR<MatrixXd> qr(a);
  return qr.householderQ() * MatrixXd::Identity(a.rows(), a.cols());
}

double ProjectedFraction(const MatrixXd& basis, long r, const VectorXd& g) {
  const double a = Alignment(basis, r, g);
  return a * a;
}

}  // namespace sgdspectra
