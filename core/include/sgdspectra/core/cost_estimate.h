// Cost model of a job: how many eigen-solves and operator products each snapshot takes, the
// flops of those products and of the SGD steps, a wall-clock estimate at nominal rates, and
// the peak memory. Computed from the spec alone, before the job runs (the `accepted` event
// carries it), so it is a model: take it as an order of magnitude.
//
// The model (first version; calibrate the constants against SolverStats of real runs):
//   - Solves per snapshot: one per analysed block and matrix (class / neuron blocks, the full
//     matrices, XOR's first layer, XOR's K x K second layer), plus one null solve per
//     input-space block when the edge method is kNullModel.
//   - Pairs a solve converges: kTopR: the cap (ResolvedTopR() / ResolvedTopRFull()).
//     kOutliers: max(expected, outliers) + certify_below, at most the cap; the outlier count
//     is unknown before the run, so it is taken as the expected count.
//   - Products per solve: an operator of size <= kDenseSolveMaxSize is formed densely (size
//     products); otherwise about kProductsPerPair x pairs + kProductsPerSolve. A null solve
//     (one pair, at null_tol) takes about kProductsPerNullSolve.
//   - Flops per product (M = TestSampleSize()): class / neuron block 4 M d; k-GMM full matrix
//     4 M d k + 4 M k; XOR first layer 4 M d K; XOR full matrix 4 M d K + 4 M K; second layer
//     2 K^2. Decoy-null and bookkeeping work is left out.
//   - SGD: about (4k + 10) d flops per step (k classes or K neurons).
//   - Seconds: a snapshot's solves run side by side, each on one thread of analysis.threads,
//     at kNominalProductFlopsPerSecond each: max(all flops / threads, the largest solve's
//     flops) / rate. SGD runs at kNominalSgdFlopsPerSecond (the order measured in
//     docs/PERFORMANCE.md: about 8k steps/s at d = 10^4, k = 10).
//   - Peak bytes: ExperimentSpec::EstimatedBytes().
//
// Thread-safety: a pure function over values.
#ifndef SGDSPECTRA_CORE_COST_ESTIMATE_H_
#define SGDSPECTRA_CORE_COST_ESTIMATE_H_

#include "sgdspectra/core/experiment_spec.h"

namespace sgdspectra {

// Products of a Lanczos solve converging `pairs` pairs: kProductsPerPair * pairs +
// kProductsPerSolve.
constexpr double kProductsPerPair = 3.0;
constexpr double kProductsPerSolve = 20.0;
// Products of one null-model edge solve (top pair at null_tol).
constexpr double kProductsPerNullSolve = 30.0;
// Per analysis thread, for operator products (docs/PERFORMANCE.md measures 17-19 GFlop/s for
// the full products and less for the width-1 block products).
constexpr double kNominalProductFlopsPerSecond = 10e9;
// SGD steps: sampling dominates; about 4 GFlop/s of (4k + 10) d flops per step.
constexpr double kNominalSgdFlopsPerSecond = 4e9;

struct JobCostEstimate {
  int snapshots = 0;            // SnapshotSteps().size()
  int solves_per_snapshot = 0;  // block solves + null solves
  long products_per_snapshot = 0;
  double flops_per_snapshot = 0;
  double largest_solve_flops = 0;  // the longest single solve of a snapshot (one thread)
  double sgd_flops_per_step = 0;
  double sgd_flops = 0;          // ResolvedSteps() x sgd_flops_per_step
  double total_flops = 0;        // snapshots x flops_per_snapshot + sgd_flops
  double analysis_seconds = 0;   // all snapshots, at the nominal product rate
  double sgd_seconds = 0;        // all steps, at the nominal SGD rate
  double estimated_seconds = 0;  // analysis_seconds + sgd_seconds
  double peak_bytes = 0;         // EstimatedBytes()
};

// spec should have passed Validate(); for other specs the numbers are finite but meaningless.
JobCostEstimate EstimateJobCost(const ExperimentSpec& spec);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_COST_ESTIMATE_H_
