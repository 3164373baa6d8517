// Targeted thick-restart Lanczos (Wu & Simon's TRLan scheme, full reorthogonalisation) run on
// N independent symmetric eigenproblems of one size n in lockstep: every step gathers each
// still-active problem's next Lanczos vector into one n x w block and applies the batched
// operator once, so the products over a shared sample are BLAS-3. Problems that are done drop
// out of the batch. N = 1 over a full matrix is SingleBatchedOperator.
//
// Targets: a problem converges its top `min_pairs` eigenpairs and, when a threshold is set,
// every eigenpair above it plus `pairs_below` (at least one) below it, so the count above the
// threshold is certified. The number wanted is recomputed from the Ritz values at every restart
// and the Krylov basis grows when it no longer leaves room for the wanted pairs. Like every
// single-vector Krylov method, the count is certified only in the usual Lanczos sense: an
// eigenvalue whose eigenvector is (numerically) orthogonal to the start vector, or an extra
// copy of an exactly repeated eigenvalue, can be missed.
//
// Per step the non-product cost is the recurrence's known terms, then one pass of classical
// Gram-Schmidt against the whole basis (two GEMVs; a second pass only when the DGKS test asks
// for it), and per restart one GEMM to compress the basis: O(n ncv) per step, against the
// product's O(M d) per column.
//
// Outcomes are data: non-convergence leaves `converged < wanted` with the converged pairs;
// cancellation (polled before every batched product) leaves every outcome `cancelled` with no
// pairs. Sizes n <= kDenseSolveMaxSize (eigensolver.h), and problems whose target needs almost all
// of R^n, are solved densely (the operator applied to identity columns, still in lockstep). No
// exceptions leave these functions.
//
// Determinism: a problem's arithmetic depends only on its own target and operator columns (and
// the widths of the batched calls, which are a deterministic function of all the inputs); the
// start vector and breakdown restarts draw from Rng(start_seed, RngStream::kSolverStart). A
// problem solved alone and the same problem solved in a lockstep batch therefore agree to the
// operator's width-dependent rounding (bit for bit when the operator's columns are computed
// independently of the width).
//
// Thread-safety: LockstepLanczos is reentrant; the operator must not be shared by two
// concurrent solves. It runs on the calling thread; the operator may use its own pool.
#ifndef SGDSPECTRA_CORE_LOCKSTEP_LANCZOS_H_
#define SGDSPECTRA_CORE_LOCKSTEP_LANCZOS_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "sgdspectra/core/batched_operators.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {

struct LanczosTarget {
  int min_pairs = 1;  // converge at least the top min_pairs eigenpairs
  // Also converge every eigenpair with value > threshold, plus `pairs_below` more at or below
  // it (at least one: a converged value at or below the threshold is what certifies the count
  // above it). +infinity = off.
  double threshold = std::numeric_limits<double>::infinity();
  int pairs_below = 0;
  // Cap on the pairs converged (0 = no cap, i.e. n). When it binds, the count above the
  // threshold is only a lower bound (LanczosOutcome::above_threshold, threshold_certified =
  // false).
  int max_pairs = 0;
  // A Ritz pair is converged when its residual norm |beta * last component of the Ritz vector|
  // (Wu-Simon) is <= max(tol * |theta|, 100 sqrt(n) eps ||T||): relative to the value, with a
  // floor at the products' rounding level (eps the machine epsilon, ||T|| a running lower bound
  // on ||A||: the largest |Ritz value| or ||A v|| seen). Below that floor a residual is
  // indistinguishable from rounding, and Lanczos treats a beta that small as an exact
  // breakdown; without it, (near-)zero eigenvalues of rank-deficient blocks could never
  // converge. The floor binds only for |theta| < 100 sqrt(n) eps ||T|| / tol (2% of ||T|| at
  // n = 10^4 and the default tol), where it still bounds the value's error by ~2e-12 ||T||.
  double tol = 1e-10;
  int max_restarts = 1000;  // restart cycles before giving up (0 = one Krylov basis only)
  uint64_t start_seed = 0;  // start vector: Rng(start_seed, RngStream::kSolverStart).FillNormal
  // Krylov basis size to start with (it still grows when the wanted pairs need room);
  // 0 = max(2 min_pairs + 1, 20). Capped at n - 1.
  int initial_basis = 0;
};

struct LanczosOutcome {
  VectorXd values;   // converged eigenvalues, descending
  MatrixXd vectors;  // n x converged, orthonormal columns matching values
  int converged = 0;
  int wanted = 0;  // pairs the target asked for at the end (min_pairs / threshold rule, capped)
  // Number of returned values above the threshold (0 when the threshold is off). Exact when
  // threshold_certified, otherwise a lower bound.
  int above_threshold = 0;
  // Some converged value is <= threshold, i.e. every eigenvalue above it is among `values`
  // (false when the cap binds, the solve did not converge, or the threshold is off).
  bool threshold_certified = false;
  bool dense = false;  // solved by the dense fallback
  long products = 0;   // operator applications (columns) of this problem
  long restarts = 0;
  int basis_size = 0;  // final Krylov basis size ncv (0 for dense)
  bool cancelled = false;
  double seconds = 0;  // wall time of the whole lockstep call (the same for all problems)
};

// Called after every batched product with the total number of columns applied so far.
using LanczosProgressFn = std::function<void(long products)>;

// Solves problem i (targets[i]) for A_i, for every i in [0, op.count()), in lockstep. Returns
// one outcome per problem, or an empty vector when targets.size() != op.count().
std::vector<LanczosOutcome> LockstepLanczos(const BatchedSymmetricOperator& op,
                                            const std::vector<LanczosTarget>& targets,
                                            const CancelFn& cancel,
                                            const LanczosProgressFn& on_step = nullptr);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_LOCKSTEP_LANCZOS_H_
