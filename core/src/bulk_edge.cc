#include "sgdspectra/core/bulk_edge.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <vector>

namespace sgdspectra {

MatrixXd SampleWeightMatrices::Weight(long j) const {
  const int k = width();
  MatrixXd w = MatrixXd::Zero(k, k);
  if (diagonal.cols() > 0) w.diagonal() = diagonal.row(j).transpose();
  if (outer.cols() > 0) w += outer_sign * outer.row(j).transpose() * outer.row(j);
  return w;
}

VectorXd SampleWeightMatrices::Scalars() const {
  VectorXd w = VectorXd::Zero(num_samples());
  if (diagonal.cols() > 0) w += diagonal.col(0);
  if (outer.cols() > 0) w += outer_sign * outer.col(0).cwiseAbs2();
  return w;
}

namespace {

constexpr int kBisectionSteps = 200;
constexpr int kMaxDoublings = 20;

// z'(m) of the scalar inverse function (bulk_edge.h), increasing on the physical interval.
double InverseDerivative(const VectorXd& w, double s2, double a, double m) {
  double sum = 0;
  for (long j = 0; j < w.size(); ++j) {
    const double denominator = 1.0 + a * w[j] * m;
    sum += w[j] * w[j] / (denominator * denominator);
  }
  return 1.0 / (m * m) - s2 * a * sum / static_cast<double>(w.size());
}

double InverseFunction(const VectorXd& w, double s2, double a, double m) {
  double sum = 0;
  for (long j = 0; j < w.size(); ++j) sum += w[j] / (1.0 + a * w[j] * m);
  return -1.0 / m + s2 * sum / static_cast<double>(w.size());
}

// One solve of the matrix Dyson equation at real z by Newton's method from *r (warm start).
// Each W_j is kept as a factor F_j (k x rank) with W_j = F_j F_j^T, so that
//   T_j = W_j (I + a R W_j)^{-1} = F_j (I + a F_j^T R F_j)^{-1} F_j^T,
// a rank x rank solve (a division for the G-matrices' rank-one weights). The small matrix
// I + a F_j^T R F_j has the nonzero spectrum of I + a W^{1/2} R W^{1/2}: on the physical branch
// it is positive definite, so its Cholesky factorization doubles as the branch check.
class DysonSolver {
 public:
  DysonSolver(const SampleWeightMatrices& weights, double noise_variance, long dim)
      : k_(weights.width()),
        c_(noise_variance / static_cast<double>(weights.num_samples())),
        a_(noise_variance * static_cast<double>(dim) / static_cast<double>(weights.num_samples())) {
    factors_.reserve(weights.num_samples());
    for (long j = 0; j < weights.num_samples(); ++j) {
      Eigen::SelfAdjointEigenSolver<MatrixXd> eigen(weights.Weight(j));
      const double largest = eigen.eigenvalues().cwiseAbs().maxCoeff();
      std::vector<int> kept;
      for (int q = 0; q < k_; ++q) {
        if (eigen.eigenvalues()[q] > kRankTol * largest) kept.push_back(q);
      }
      MatrixXd factor(k_, kept.size());
      for (size_t q = 0; q < kept.size(); ++q) {
        factor.col(q) = eigen.eigenvectors().col(kept[q]) * std::sqrt(eigen.eigenvalues()[kept[q]]);
      }
      factors_.push_back(std::move(factor));
    }
  }

  bool Solve(double z, MatrixXd* r) const {
    MatrixXd current = *r;
    std::vector<double> residual_norms;
    for (int iteration = 0; iteration < kMaxNewtonSteps; ++iteration) {
      MatrixXd residual, jacobian;
      if (!Linearize(z, current, &residual, &jacobian)) return false;
      const double scale = std::abs(z) + current.inverse().norm();
      residual_norms.push_back(residual.norm());
      if (residual_norms.back() <= kResidualTol * scale) {
        Eigen::SelfAdjointEigenSolver<MatrixXd> r_eigen(current, Eigen::EigenvaluesOnly);
        if (r_eigen.eigenvalues().maxCoeff() >= 0) return false;  // R < 0 above the edge
        *r = current;
        return true;
      }
      // Newton converges at least linearly (by half a step, at a fold) where a solution
      // exists; no progress over kStallWindow steps means there is none here.
      if (iteration >= kStallWindow &&
          residual_norms.back() > kStallRatio * residual_norms[iteration - kStallWindow]) {
        return false;
      }
      Eigen::FullPivLU<MatrixXd> lu(jacobian);
      if (!lu.isInvertible()) return false;
      const VectorXd step = lu.solve(-Eigen::Map<const VectorXd>(residual.data(), k_ * k_));
      MatrixXd next = current + Eigen::Map<const MatrixXd>(step.data(), k_, k_);
      current = 0.5 * (next + next.transpose());
    }
    return false;
  }

 private:
  static constexpr int kMaxNewtonSteps = 100;
  static constexpr double kResidualTol = 1e-12;
  static constexpr int kStallWindow = 4;
  static constexpr double kStallRatio = 0.5;  // halving each step would give 1/16
  static constexpr double kRankTol = 1e-13;   // eigenvalues of W_j below this are zero

  // F(R) = R^{-1} + z I - c sum_j T_j and its Jacobian on vec(R):
  // -(R^{-1} (x) R^{-1}) + c a sum_j T_j (x) T_j. False if R is singular or off the branch.
  bool Linearize(double z, const MatrixXd& r, MatrixXd* residual, MatrixXd* jacobian) const {
    Eigen::FullPivLU<MatrixXd> r_lu(r);
    if (!r_lu.isInvertible()) return false;
    const MatrixXd r_inverse = r_lu.inverse();
    MatrixXd t_sum = MatrixXd::Zero(k_, k_);
    MatrixXd kron_sum = MatrixXd::Zero(k_ * k_, k_ * k_);
    MatrixXd t(k_, k_);
    for (const MatrixXd& f : factors_) {
      if (f.cols() == 0) continue;
      if (f.cols() == 1) {
        const double g = 1.0 + a_ * f.col(0).dot(r * f.col(0));
        if (g <= 0) return false;
        t.noalias() = (f.col(0) / g) * f.col(0).transpose();
      } else {
        MatrixXd g = MatrixXd::Identity(f.cols(), f.cols());
        g.noalias() += a_ * f.transpose() * r * f;
        Eigen::LLT<MatrixXd> llt(g);
        if (llt.info() != Eigen::Success) return false;
        t.noalias() = f * llt.solve(f.transpose());
      }
      t_sum += t;
      AccumulateKronecker(t, 1.0, &kron_sum);
    }
    *residual = r_inverse + z * MatrixXd::Identity(k_, k_) - c_ * t_sum;
    *jacobian = c_ * a_ * kron_sum;
    AccumulateKronecker(r_inverse, -1.0, jacobian);
    return true;
  }

  // out += sign * (s (x) s), written out: the k^4 loop is most of a linearization, and block
  // expressions on dynamic-size matrices are several times slower than plain loops here.
  void AccumulateKronecker(const MatrixXd& s, double sign, MatrixXd* out) const {
    const long n = static_cast<long>(k_) * k_;
    double* data = out->data();
    for (int p = 0; p < k_; ++p) {
      for (int b = 0; b < k_; ++b) {
        double* column = data + (static_cast<long>(p) * k_ + b) * n;
        for (int q = 0; q < k_; ++q) {
          const double outer = sign * s(q, p);
          for (int a = 0; a < k_; ++a) column[q * k_ + a] += outer * s(a, b);
        }
      }
    }
  }

  const int k_;
  const double c_, a_;
  std::vector<MatrixXd> factors_;  // F_j, k x rank(W_j)
};

// The largest eigenvalue of any W_j: s2 w (1 + sqrt(gamma))^2 with it bounds the edge above
// (A is at most w times a white sample covariance in the Loewner order).
double LargestWeight(const SampleWeightMatrices& weights) {
  double largest = 0;
  for (long j = 0; j < weights.num_samples(); ++j) {
    Eigen::SelfAdjointEigenSolver<MatrixXd> eigen(weights.Weight(j), Eigen::EigenvaluesOnly);
    largest = std::max(largest, eigen.eigenvalues().maxCoeff());
  }
  return largest;
}

}  // namespace

double DeformedMarchenkoPasturEdge(const VectorXd& weights, double noise_variance, long dim) {
  const long m = weights.size();
  const double w_max = m > 0 ? weights.maxCoeff() : 0.0;
  if (w_max <= 0 || noise_variance <= 0 || dim <= 0) return 0.0;
  const double a = noise_variance * static_cast<double>(dim) / static_cast<double>(m);
  // z' -> -inf at the pole m = -1/(a w_max) and -> +inf at 0-: bisect for its root.
  double lo = -1.0 / (a * w_max), hi = 0.0;
  for (int step = 0; step < kBisectionSteps; ++step) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    (InverseDerivative(weights, noise_variance, a, mid) < 0 ? lo : hi) = mid;
  }
  return InverseFunction(weights, noise_variance, a, 0.5 * (lo + hi));
}

double DysonEquationEdge(const SampleWeightMatrices& weights, double noise_variance, long dim,
                         double relative_tol) {
  const int k = weights.width();
  const double w_max = LargestWeight(weights);
  if (k == 0 || w_max <= 0 || noise_variance <= 0 || dim <= 0) return 0.0;
  const double gamma = static_cast<double>(dim) / static_cast<double>(weights.num_samples());
  const DysonSolver solver(weights, noise_variance, dim);
  // Above the Loewner bound the solution exists and R ~ -I / z starts Newton close to it.
  const double bound = noise_variance * w_max * (1 + std::sqrt(gamma)) * (1 + std::sqrt(gamma));
  double hi = 1.01 * bound;
  MatrixXd r_hi = -MatrixXd::Identity(k, k) / hi;
  for (int doubling = 0; !solver.Solve(hi, &r_hi); ++doubling) {
    // Not expected above the bound; if Newton cannot start, the bound itself is a safe edge
    // (it can only undercount outliers).
    if (doubling == kMaxDoublings) return bound;
    hi *= 2;
    r_hi = -MatrixXd::Identity(k, k) / hi;
  }
  double lo = 0.0;
  while (hi - lo > relative_tol * hi) {
    const double mid = 0.5 * (lo + hi);
    MatrixXd r = r_hi;
    if (solver.Solve(mid, &r)) {
      hi = mid;
      r_hi = r;
    } else {
      lo = mid;
    }
  }
  return hi;
}

double DeformedMarchenkoPasturEdge(const SampleWeightMatrices& weights, double noise_variance,
                                   long dim) {
  if (weights.width() == 1) {
    return DeformedMarchenkoPasturEdge(weights.Scalars(), noise_variance, dim);
  }
  return DysonEquationEdge(weights, noise_variance, dim);
}

}  // namespace sgdspectra
