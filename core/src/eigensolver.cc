#include "sgdspectra/core/eigensolver.h"

#include <Spectra/SymEigsSolver.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <chrono>
#include <exception>

#include "sgdspectra/core/random.h"

namespace sgdspectra {
namespace {

// Thrown by the adapter when the cancel hook fires; caught in TopEigenpairs, never escapes
// this file (errors cross module boundaries as values).
struct SolveCancelled {};

// Spectra's operator concept over our SymmetricOperator, counting products and polling cancel.
class SpectraOperator {
 public:
  using Scalar = double;
  SpectraOperator(const SymmetricOperator& op, const CancelFn& cancel) : op_(op), cancel_(cancel) {}
  Eigen::Index rows() const { return op_.size(); }
  Eigen::Index cols() const { return op_.size(); }
  void perform_op(const double* x_in, double* y_out) const {
    if (cancel_ && cancel_()) throw SolveCancelled{};
    op_.Apply(x_in, y_out);
    ++products_;
  }
  long products() const { return products_; }

 private:
  const SymmetricOperator& op_;
  const CancelFn& cancel_;
  mutable long products_ = 0;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

EigenResult DenseTopEigenpairs(const SymmetricOperator& op, int r, const CancelFn& cancel) {
  EigenResult result;
  result.method = SolverMethod::kDense;
  result.requested = r;
  if (cancel && cancel()) {
    result.cancelled = true;
    return result;
  }
  const long n = op.size();
  const MatrixXd a = DenseMatrixOf(op);
  result.products = n;
  Eigen::SelfAdjointEigenSolver<MatrixXd> eig(0.5 * (a + a.transpose()));
  if (eig.info() != Eigen::Success) return result;
  // Eigen sorts ascending; we report descending.
  result.values = eig.eigenvalues().tail(r).reverse();
  result.vectors = eig.eigenvectors().rightCols(r).rowwise().reverse();
  result.converged = r;
  return result;
}

}  // namespace

const char* SolverMethodName(SolverMethod m) {
  switch (m) {
    case SolverMethod::kDense:
      return "dense";
    case SolverMethod::kLockstepLanczos:
      return "lockstep_lanczos";
    case SolverMethod::kLanczos:
      break;
  }
  return "lanczos";
}

EigenResult TopEigenpairs(const SymmetricOperator& op, int r, const SolverSettings& settings,
                          uint64_t start_seed, const CancelFn& cancel) {
  const auto start = std::chrono::steady_clock::now();
  const long n = op.size();
  r = static_cast<int>(std::min<long>(std::max(r, 1), n));
  long ncv = settings.ncv > 0 ? settings.ncv : std::max(2 * r + 1, 20);
  ncv = std::min(ncv, n);
  if (n <= kDenseSolveMaxSize || ncv <= r) {
    EigenResult dense = DenseTopEigenpairs(op, r, cancel);
    dense.seconds = SecondsSince(start);
    return dense;
  }

  EigenResult result;
  result.requested = r;
  SpectraOperator spectra_op(op, cancel);
  Spectra::SymEigsSolver<SpectraOperator> solver(spectra_op, r, ncv);
  VectorXd start_vector(n);
  Rng rng(start_seed, RngStream::kSolverStart);
  rng.FillNormal(start_vector.data(), n);
  try {
    solver.init(start_vector.data());
    solver.compute(Spectra::SortRule::LargestAlge, settings.max_restarts, settings.tol,
                   Spectra::SortRule::LargestAlge);
    result.values = solver.eigenvalues();
    result.vectors = solver.eigenvectors();
    result.converged = static_cast<int>(result.values.size());
    result.restarts = solver.num_iterations();
  } catch (const SolveCancelled&) {
    result.cancelled = true;
  } catch (const std::exception&) {
    // A numerical breakdown inside Spectra: reported as zero converged pairs.
    result.converged = 0;
  }
  result.products = spectra_op.products();
  result.seconds = SecondsSince(start);
  return result;
}

}  // namespace sgdspectra
