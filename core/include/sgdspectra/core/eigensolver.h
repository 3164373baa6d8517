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

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_EIGENSOLVER_H_
