#include "sgdspectra/core/cost_estimate.h"

#include <algorithm>
#include <cmath>

#include "sgdspectra/core/eigensolver.h"

namespace sgdspectra {
namespace {

// Products of one solve converging `pairs` pairs of an operator of size n (see the header).
long SolveProducts(long n, int pairs) {
  if (n <= kDenseSolveMaxSize) return n;  // formed densely: one product per column
  return std::lround(kProductsPerPair * pairs + kProductsPerSolve);
}

long NullSolveProducts(long n) {
  if (n <= kDenseSolveMaxSize) return n;
  return std::lround(kProductsPerNullSolve);
}

// Accumulates one snapshot's solves.
class SnapshotTally {
 public:
  explicit SnapshotTally(const ExperimentSpec& spec) : spec_(spec) {}

  // One block (matrix H or G) of size n, converging up to `cap` pairs with `expected`
  // outliers, at `flops_per_product`; with its null solve when `null_solve`.
  void AddBlock(long n, int cap, int expected, double flops_per_product, bool null_solve) {
    const AnalysisSpec& analysis = spec_.analysis;
    int pairs = analysis.solve_target == SolveTarget::kTopR
                    ? cap
                    : std::min(cap, expected + analysis.certify_below);
    pairs = static_cast<int>(std::clamp<long>(pairs, 1, n));
    long products = SolveProducts(n, pairs);
    ++solves_;
    if (null_solve) {
      products += NullSolveProducts(n);
      ++solves_;
    }
    // The spectral density: probes x steps products (fewer if Lanczos stops early).
    products +=
        static_cast<long>(analysis.density_probes) * std::min<long>(analysis.density_steps, n);
    const double flops = static_cast<double>(products) * flops_per_product;
    products_ += products;
    flops_ += flops;
    largest_block_flops_ = std::max(largest_block_flops_, flops);
  }

  int solves() const { return solves_; }
  long products() const { return products_; }
  double flops() const { return flops_; }
  // A block's solve and its null solve run one after the other on one thread.
  double largest_block_flops() const { return largest_block_flops_; }

 private:
  const ExperimentSpec& spec_;
  int solves_ = 0;
  long products_ = 0;
  double flops_ = 0;
  double largest_block_flops_ = 0;
};

void TallyKgmm(const ExperimentSpec& spec, int num_matrices, bool null_solves,
               SnapshotTally* tally) {
  const long d = spec.Dim();
  const int k = spec.kgmm.num_classes;
  const double m = static_cast<double>(spec.TestSampleSize());
  if (spec.analysis.full_matrices) {
    const double per_product = 4.0 * m * d * k + 4.0 * m * k;
    for (int i = 0; i < num_matrices; ++i) {
      tally->AddBlock(k * d, spec.ResolvedTopRFull(), spec.ExpectedFullOutliers(), per_product,
                      null_solves);
    }
  }
  if (spec.analysis.class_blocks) {
    for (int i = 0; i < k * num_matrices; ++i) {
      tally->AddBlock(d, spec.ResolvedTopR(), spec.ExpectedClassOutliers(), 4.0 * m * d,
                      null_solves);
    }
  }
}

void TallyXor(const ExperimentSpec& spec, int num_matrices, bool null_solves,
              SnapshotTally* tally) {
  const long d = spec.Dim();
  const int hidden = spec.xor_task.hidden;
  const double m = static_cast<double>(spec.TestSampleSize());
  if (spec.analysis.full_matrices) {
    for (int i = 0; i < num_matrices; ++i) {
      tally->AddBlock(hidden * d + hidden, spec.ResolvedTopRFull(), spec.ExpectedFullOutliers(),
                      4.0 * m * d * hidden + 4.0 * m * hidden, null_solves);
    }
    for (int i = 0; i < num_matrices; ++i) {
      tally->AddBlock(hidden * d, spec.ResolvedTopRFull(), spec.ExpectedFullOutliers(),
                      4.0 * m * d * hidden, null_solves);
    }
  }
  if (spec.analysis.class_blocks) {
    for (int i = 0; i < hidden * num_matrices; ++i) {
      tally->AddBlock(d, spec.ResolvedTopR(), spec.ExpectedClassOutliers(), 4.0 * m * d,
                      null_solves);
    }
  }
  // The K x K second layer is always analysed, densely, against the decoy null (no solve).
  for (int i = 0; i < num_matrices; ++i) {
    tally->AddBlock(hidden, hidden, spec.ExpectedFullOutliers(), 2.0 * hidden * hidden, false);
  }
}

}  // namespace

JobCostEstimate EstimateJobCost(const ExperimentSpec& spec) {
  JobCostEstimate estimate;
  const int num_matrices = spec.analysis.g_matrix ? 2 : 1;
  const bool null_solves = spec.analysis.outliers.method == OutlierMethod::kNullModel;
  SnapshotTally tally(spec);
  if (spec.task == TaskKind::kXor) {
    TallyXor(spec, num_matrices, null_solves, &tally);
  } else {
    TallyKgmm(spec, num_matrices, null_solves, &tally);
  }

  estimate.snapshots = static_cast<int>(spec.SnapshotSteps().size());
  estimate.solves_per_snapshot = tally.solves();
  estimate.products_per_snapshot = tally.products();
  estimate.flops_per_snapshot = tally.flops();
  estimate.largest_solve_flops = tally.largest_block_flops();

  const double d = static_cast<double>(spec.Dim());
  estimate.sgd_flops_per_step = (4.0 * spec.NumBlocks() + 10.0) * d;
  estimate.sgd_flops = static_cast<double>(spec.ResolvedSteps()) * estimate.sgd_flops_per_step;
  estimate.total_flops = estimate.snapshots * estimate.flops_per_snapshot + estimate.sgd_flops;

  const double threads = std::max(1, spec.analysis.threads);
  const double snapshot_seconds =
      std::max(estimate.flops_per_snapshot / threads, estimate.largest_solve_flops) /
      kNominalProductFlopsPerSecond;
  estimate.analysis_seconds = estimate.snapshots * snapshot_seconds;
  estimate.sgd_seconds = estimate.sgd_flops / kNominalSgdFlopsPerSecond;
  estimate.estimated_seconds = estimate.analysis_seconds + estimate.sgd_seconds;
  estimate.peak_bytes = spec.EstimatedBytes();
  return estimate;
}

}  // namespace sgdspectra
