#include "sgdspectra/core/lockstep_lanczos.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/random.h"

namespace sgdspectra {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
// A residual norm below kBreakdownScale * sqrt(n) * eps * ||A|| is what the product's own
// rounding leaves after projecting out an invariant subspace (rank-deficient blocks): it is
// treated as an exact breakdown (beta = 0) rather than followed as a direction, and a Ritz
// residual below it counts as converged. Dropping it perturbs T, hence the Ritz values, by no
// more than that. (A rank-3 dense matrix of size 100 leaves ~50 eps ||A||; 100 sqrt(n) gives
// a 20x margin there and stays at 2e-12 ||A|| for n = 10^4.)
constexpr double kBreakdownScale = 100.0;
// A Gram-Schmidt pass that leaves more than this fraction of w is enough (the DGKS criterion,
// eta = 1/sqrt(2)): w is then orthogonal to the basis to working precision. Because each step
// first subtracts the coefficients the recurrence already knows, the full pass removes only
// the rounding-level loss of orthogonality and one pass nearly always suffices.
constexpr double kReorthogonalizeRatio = 0.70710678118654752;
// Basis sizing: ncv starts at max(2 min_pairs + 1, kMinBasis); a restart needs room for the
// wanted pairs plus max(wanted / 2, kMinMargin) more, or convergence slows to a crawl.
constexpr int kMinBasis = 20;
constexpr int kMinMargin = 10;

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int Margin(int wanted) { return std::max(wanted / 2, kMinMargin); }

// One eigenproblem's state machine. Every step it hands out one vector (WriteNext) and takes
// back the operator's product with it (Consume), until it is done.
class Problem {
 public:
  Problem(long n, const LanczosTarget& target)
      : n_(n), target_(target), rng_(target.start_seed, RngStream::kSolverStart) {
    threshold_on_ = std::isfinite(target_.threshold);
    cap_ = static_cast<int>(target_.max_pairs > 0 ? std::min<long>(target_.max_pairs, n) : n);
    const int initial_wanted = std::min(cap_, std::max(target_.min_pairs, 1));
    if (n_ == 0) {
      mode_ = Mode::kDone;
    } else if (n_ <= kDenseSolveMaxSize || initial_wanted + Margin(initial_wanted) > n_ - 1) {
      StartDense();
    } else {
      const int basis = target_.initial_basis > 0 ? std::max(target_.initial_basis, kMinBasis)
                                                  : std::max(2 * initial_wanted + 1, kMinBasis);
      StartLanczos(static_cast<int>(std::min<long>(basis, n_ - 1)));
    }
  }

  bool active() const { return mode_ != Mode::kDone; }

  // The vector to multiply next, into dest (n doubles).
  void WriteNext(double* dest) const {
    Eigen::Map<VectorXd> out(dest, n_);
    if (mode_ == Mode::kDense) {
      out.setZero();
      out[dense_column_] = 1.0;
    } else {
      out = v_.col(j_);
    }
  }

  // product = A * (the vector of the last WriteNext).
  void Consume(const double* product) {
    ++outcome_.products;
    if (mode_ == Mode::kDense) {
      dense_.col(dense_column_) = Eigen::Map<const VectorXd>(product, n_);
      if (++dense_column_ == n_) FinishDense();
    } else {
      LanczosStep(product);
    }
  }

  // Drops everything but the bookkeeping: a cancelled solve reports no pairs.
  void Cancel() {
    LanczosOutcome cancelled;
    cancelled.products = outcome_.products;
    cancelled.restarts = outcome_.restarts;
    cancelled.dense = outcome_.dense;
    cancelled.cancelled = true;
    outcome_ = std::move(cancelled);
    mode_ = Mode::kDone;
  }

  LanczosOutcome TakeOutcome() { return std::move(outcome_); }

 private:
  enum class Mode { kLanczos, kDense, kDone };

  // Pairs wanted given the current (Ritz or exact) values, descending.
  int Wanted(const VectorXd& values) {
    int wanted = std::max(target_.min_pairs, 1);
    if (threshold_on_) {
      const int above = static_cast<int>((values.array() > target_.threshold).count());
      wanted = std::max(wanted, above + std::max(target_.pairs_below, 1));
    }
    return std::min(wanted, cap_);
  }

  void StartDense() {
    mode_ = Mode::kDense;
    outcome_.dense = true;
    v_.resize(0, 0);
    t_.resize(0, 0);
    dense_.resize(n_, n_);
    dense_column_ = 0;
  }

  void StartLanczos(int m) {
    mode_ = Mode::kLanczos;
    m_ = m;
    v_.resize(n_, m_ + 1);
    t_ = MatrixXd::Zero(m_, m_);
    w_.resize(n_);
    rng_.FillNormal(w_.data(), n_);
    v_.col(0) = w_ / w_.norm();
    j_ = 0;
    arrow_column_ = 0;
  }

  // Residual norms below this are the product's rounding (see kBreakdownScale).
  double RoundingLevel() const {
    return kBreakdownScale * std::sqrt(static_cast<double>(n_)) * kEps * anorm_;
  }

  // Classical Gram-Schmidt of w_ against the first `cols` basis vectors, repeated while a pass
  // removes most of w (DGKS; at most three passes). BLAS-2 throughout. Leaves the summed
  // coefficients in coef_ and returns ||w||.
  double Orthogonalize(long cols) {
    const auto basis = v_.leftCols(cols);
    coef_.setZero(cols);
    double norm = w_.norm();
    for (int pass = 0; pass < 3; ++pass) {
      pass_coef_.noalias() = basis.transpose() * w_;
      w_.noalias() -= basis * pass_coef_;
      coef_ += pass_coef_;
      const double new_norm = w_.norm();
      const bool enough = new_norm > kReorthogonalizeRatio * norm;
      norm = new_norm;
      if (enough) break;
    }
    return norm;
  }

  // After an invariant subspace: a fresh direction from the problem's own stream, orthogonal
  // to the first `cols` basis vectors, into column `cols`. False when none is found (cols
  // already spans R^n numerically).
  bool RandomOrthogonalVector(long cols) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      rng_.FillNormal(w_.data(), n_);
      const double before = w_.norm();
      const double after = Orthogonalize(cols);
      if (after > 1e-8 * before) {
        v_.col(cols) = w_ / after;
        return true;
      }
    }
    return false;
  }

  void LanczosStep(const double* product) {
    w_ = Eigen::Map<const VectorXd>(product, n_);
    anorm_ = std::max(anorm_, w_.norm());  // ||A v|| <= ||A||: a running lower bound
    const long j = j_;
    // The recurrence first: column j of T above the diagonal already holds v_i^T A v_j (one
    // entry, or after a thick restart the arrowhead's k entries), and alpha is one dot product.
    if (j > 0 && j == arrow_column_) {
      w_.noalias() -= v_.leftCols(j) * t_.col(j).head(j);
    } else if (j > 0) {
      w_ -= t_(j - 1, j) * v_.col(j - 1);
    }
    const double alpha = v_.col(j).dot(w_);
    w_ -= alpha * v_.col(j);
    double beta = Orthogonalize(j + 1);
    // Of the full pass only the diagonal correction is kept: the off-diagonal entries of column
    // j are already in T, and the rest are rounding-level terms that Lanczos with full
    // reorthogonalisation drops.
    t_(j, j) = alpha + coef_[j];
    bool exhausted = false;
    if (beta <= RoundingLevel()) {
      beta = 0;
      exhausted = !RandomOrthogonalVector(j + 1);
    } else {
      v_.col(j + 1) = w_ / beta;
    }
    if (j + 1 < m_ && !exhausted) {
      t_(j, j + 1) = t_(j + 1, j) = beta;
      ++j_;
      return;
    }
    Restart(beta, exhausted);
  }

  // The basis is full (j + 1 == m): Ritz pairs, convergence, and either finish or compress.
  void Restart(double beta, bool exhausted) {
    const int m = static_cast<int>(j_ + 1);  // < m_ only when exhausted
    Eigen::SelfAdjointEigenSolver<MatrixXd> eig(t_.topLeftCorner(m, m));
    if (eig.info() != Eigen::Success) {
      Finish(VectorXd(), MatrixXd(), 0, m);
      return;
    }
    // Eigen sorts ascending; the wanted end is the top.
    const VectorXd theta = eig.eigenvalues().reverse();
    const MatrixXd y = eig.eigenvectors().rowwise().reverse();
    anorm_ = std::max({anorm_, std::abs(theta[0]), std::abs(theta[m - 1])});
    // Wu-Simon residual estimate: A (V y_i) - theta_i (V y_i) = beta y_i[m-1] v_m. Pairs count
    // as converged from the top down only: a converged pair below an unconverged one says
    // nothing about the count above it.
    const auto is_converged = [&](int i) {
      const double residual = std::abs(beta * y(m - 1, i));
      return residual <= std::max(target_.tol * std::abs(theta[i]), RoundingLevel());
    };
    int converged = 0;
    while (converged < m && is_converged(converged)) ++converged;
    const int wanted = Wanted(theta);
    outcome_.wanted = wanted;
    // When not capped, wanted >= (#Ritz values above the threshold) + 1, so converging the top
    // `wanted` also converges one at or below it: converging them is the whole stopping rule.
    if (converged >= wanted || exhausted || outcome_.restarts >= target_.max_restarts) {
      Finish(theta, y, std::min(converged, wanted), m);
      return;
    }
    int new_m = m_;
    if (wanted + Margin(wanted) > m_) {
      new_m = wanted + Margin(wanted);
      if (new_m > n_ - 1) {
        // The target needs nearly all of R^n: a Krylov basis buys nothing over the matrix.
        StartDense();
        return;
      }
    }
    // Thick restart: keep the wanted Ritz vectors plus half the rest (ARPACK's heuristic), so
    // the next cycle starts from the best available approximations of the pairs just beyond.
    const int k = std::max(1, wanted < m_ ? wanted + (m_ - wanted) / 2 : m_ - 1);
    compress_.noalias() = v_.leftCols(m_) * y.leftCols(k);
    v_.leftCols(k) = compress_;
    v_.col(k) = v_.col(m_);
    if (new_m > m_) {
      m_ = new_m;
      v_.conservativeResize(Eigen::NoChange, m_ + 1);
    }
    // Projected matrix after the restart: diag(theta_0..k-1) with the arrowhead coupling
    // v_k^T A (V y_i) = beta y_i[m-1] in row and column k.
    t_ = MatrixXd::Zero(m_, m_);
    for (int i = 0; i < k; ++i) {
      t_(i, i) = theta[i];
      t_(i, k) = t_(k, i) = beta * y(m - 1, i);
    }
    j_ = k;
    arrow_column_ = k;
    ++outcome_.restarts;
  }

  void Finish(const VectorXd& theta, const MatrixXd& y, int pairs, int m) {
    if (pairs > 0) {
      outcome_.values = theta.head(pairs);
      outcome_.vectors.noalias() = v_.leftCols(m) * y.leftCols(pairs);
    } else {
      outcome_.vectors.resize(n_, 0);
    }
    outcome_.converged = pairs;
    outcome_.basis_size = m_;
    Close();
  }

  void FinishDense() {
    Eigen::SelfAdjointEigenSolver<MatrixXd> eig(0.5 * (dense_ + dense_.transpose()));
    if (eig.info() == Eigen::Success) {
      const VectorXd values = eig.eigenvalues().reverse();
      const int wanted = Wanted(values);
      outcome_.wanted = wanted;
      outcome_.values = values.head(wanted);
      outcome_.vectors = eig.eigenvectors().rightCols(wanted).rowwise().reverse();
      outcome_.converged = wanted;
    }
    Close();
  }

  // Sets the threshold fields and releases the work memory (many problems may be in flight).
  void Close() {
    if (threshold_on_) {
      outcome_.above_threshold =
          static_cast<int>((outcome_.values.array() > target_.threshold).count());
      outcome_.threshold_certified =
          outcome_.converged > 0 && outcome_.values[outcome_.converged - 1] <= target_.threshold;
    }
    mode_ = Mode::kDone;
    v_ = MatrixXd();
    t_ = MatrixXd();
    dense_ = MatrixXd();
    compress_ = MatrixXd();
    w_ = VectorXd();
  }

  const long n_;
  const LanczosTarget target_;
  Rng rng_;
  bool threshold_on_ = false;
  int cap_ = 0;
  Mode mode_ = Mode::kDone;
  LanczosOutcome outcome_;

  // Lanczos: basis V (n x (m+1), column m is the next vector), projected matrix T (m x m).
  int m_ = 0;
  long j_ = 0;             // the step in progress: V.col(j) is being multiplied
  long arrow_column_ = 0;  // after a thick restart to k kept vectors: k (T's arrowhead column)
  double anorm_ = 0;
  MatrixXd v_, t_, compress_;
  VectorXd w_, coef_, pass_coef_;

  // Dense fallback: A formed column by column.
  MatrixXd dense_;
  long dense_column_ = 0;
};

}  // namespace

std::vector<LanczosOutcome> LockstepLanczos(const BatchedSymmetricOperator& op,
                                            const std::vector<LanczosTarget>& targets,
                                            const CancelFn& cancel,
                                            const LanczosProgressFn& on_step) {
  const auto start = std::chrono::steady_clock::now();
  if (static_cast<long>(targets.size()) != op.count()) return {};
  const long n = op.size();
  std::vector<Problem> problems;
  problems.reserve(targets.size());
  for (const LanczosTarget& target : targets) problems.emplace_back(n, target);

  std::vector<int> which;
  std::vector<double> x, y;
  long total_products = 0;
  bool cancelled = false;
  while (true) {
    which.clear();
    for (int i = 0; i < static_cast<int>(problems.size()); ++i) {
      if (problems[i].active()) which.push_back(i);
    }
    if (which.empty()) break;
    if (cancel && cancel()) {
      cancelled = true;
      break;
    }
    const int width = static_cast<int>(which.size());
    x.resize(static_cast<size_t>(n * width));
    y.resize(x.size());
    for (int c = 0; c < width; ++c) problems[which[c]].WriteNext(x.data() + c * n);
    op.Apply(which.data(), width, x.data(), y.data());
    total_products += width;
    if (on_step) on_step(total_products);
    for (int c = 0; c < width; ++c) problems[which[c]].Consume(y.data() + c * n);
  }

  std::vector<LanczosOutcome> outcomes;
  outcomes.reserve(problems.size());
  const double seconds = SecondsSince(start);
  for (Problem& problem : problems) {
    if (cancelled) problem.Cancel();
    outcomes.push_back(problem.TakeOutcome());
    outcomes.back().seconds = seconds;
  }
  return outcomes;
}

}  // namespace sgdspectra
