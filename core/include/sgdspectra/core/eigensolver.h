// Top-r eigenpairs of a symmetric operator by implicitly restarted Lanczos (Spectra's
// SymEigsSolver), with the solver's outcome reported as data.
//
// Non-convergence is not an error: the result holds the converged pairs only, with
// `converged < requested`. Cancellation is polled before every product; a cancelled solve
// returns `cancelled = true` and no pairs. Operators of size <= kDenseSolveMaxSize (or too small
// for a Krylov space of ncv vectors) are formed densely and solved exactly, which is the
// honest method for the K x K second layer.
//
// Thread-safety: TopEigenpairs is reentrant; the operator must not be shared by two
// concurrent solves.
#ifndef SGDSPECTRA_CORE_EIGENSOLVER_H_
#define SGDSPECTRA_CORE_EIGENSOLVER_H_

#include <cstdint>
#include <limits>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

struct SolverSettings {
  int ncv = 0;         // Krylov subspace size; 0 = max(2r + 1, 20), capped at the size
  double tol = 1e-10;  // Spectra's relative residual tolerance
  int max_restarts = 1000;
};

// kLanczos: Spectra's implicitly restarted Lanczos; kLockstepLanczos: our thick-restart Lanczos
// (lockstep_lanczos.h); kDense: the matrix formed and solved exactly.
enum class SolverMethod { kLanczos = 0, kDense = 1, kLockstepLanczos = 2 };
const char* SolverMethodName(SolverMethod m);

struct EigenResult {
  VectorXd values;   // converged eigenvalues, descending
  MatrixXd vectors;  // size x converged, orthonormal columns matching values
  int requested = 0;
  int converged = 0;
  // Targeted solves: a converged value lies at or below the target's threshold, so every
  // eigenvalue above it is among `values`.
  bool threshold_certified = false;
  long products = 0;  // operator applications
  long restarts = 0;
  double seconds = 0;
  bool cancelled = false;
  SolverMethod method = SolverMethod::kLanczos;
};

constexpr long kDenseSolveMaxSize = 64;

// r >= 1 largest (algebraic) eigenpairs. start_seed fixes the Krylov starting vector.
EigenResult TopEigenpairs(const SymmetricOperator& op, int r, const SolverSettings& settings,
                          uint64_t start_seed, const CancelFn& cancel);

// Which top eigenpairs a targeted solve converges: at least min_pairs, every pair above
// threshold plus pairs_below more below it (which certifies the count above the threshold),
// at most max_pairs. threshold = +infinity asks for exactly min_pairs.
struct EigenTarget {
  int min_pairs = 1;
  double threshold = std::numeric_limits<double>::infinity();
  int pairs_below = 0;
  int max_pairs = 1;
};

// Pairs the target needs when `above` values are known to exceed the threshold.
int PairsNeeded(const EigenTarget& target, int above);

// The target's pairs by restarted Lanczos (Spectra): solves for PairsNeeded(target, 0) pairs,
// and while every converged value is above the threshold and the cap allows, solves again for
// more (the products of every attempt are counted). `requested` is the last attempt's r.
EigenResult TargetedEigenpairs(const SymmetricOperator& op, const EigenTarget& target,
                               const SolverSettings& settings, uint64_t start_seed,
                               const CancelFn& cancel);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_EIGENSOLVER_H_
