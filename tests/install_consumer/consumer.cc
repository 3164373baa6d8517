// Uses an installed sgdspectra::core through its public headers only, and checks the answers:
// a default ExperimentSpec validates, a broken one is rejected naming its field, the job cost
// model gives a finite estimate, and a Lanczos solve (Spectra, compiled into the library) finds
// the known top eigenpairs of a matrix-free operator. Exit status 0 when every check passes.
#include <cmath>
#include <cstdio>
#include <string>

#include "sgdspectra/core/cost_estimate.h"
#include "sgdspectra/core/eigensolver.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/status.h"

namespace {

int failures = 0;

void Check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

// diag(1/n, 2/n, ..., (n-3)/n, 3, 4, 5): three well separated outliers above a bulk in (0, 1].
class SpikedDiagonal : public sgdspectra::SymmetricOperator {
 public:
  explicit SpikedDiagonal(long n) : n_(n) {}
  long size() const override { return n_; }
  void Apply(const double* x, double* y) const override {
    for (long i = 0; i < n_; ++i) y[i] = Diagonal(i) * x[i];
  }
  double Diagonal(long i) const {
    return i < n_ - 3 ? static_cast<double>(i + 1) / n_ : static_cast<double>(i - (n_ - 3) + 3);
  }

 private:
  long n_;
};

}  // namespace

int main() {
  sgdspectra::ExperimentSpec spec;
  const sgdspectra::Status valid = spec.Validate();
  Check(valid.ok(), "default ExperimentSpec validates (" + valid.ToString() + ")");

  sgdspectra::ExperimentSpec broken = spec;
  broken.kgmm.dim = 1;
  const sgdspectra::Status invalid = broken.Validate();
  Check(invalid.code() == sgdspectra::StatusCode::kInvalidArgument &&
            invalid.message().rfind("kgmm.dim", 0) == 0,
        "kgmm.dim = 1 is rejected naming the field (" + invalid.ToString() + ")");

  const sgdspectra::JobCostEstimate cost = sgdspectra::EstimateJobCost(spec);
  Check(cost.snapshots > 0 && cost.solves_per_snapshot > 0 && std::isfinite(cost.total_flops) &&
            cost.total_flops > 0 && cost.peak_bytes > 0,
        "cost estimate of the default spec: " + std::to_string(cost.snapshots) + " snapshots, " +
            std::to_string(cost.solves_per_snapshot) + " solves per snapshot");

  const long n = 300;  // above kDenseSolveMaxSize: the Lanczos path, not the dense one
  SpikedDiagonal op(n);
  const sgdspectra::EigenResult result = sgdspectra::TopEigenpairs(
      op, 3, sgdspectra::SolverSettings{}, /*start_seed=*/7, [] { return false; });
  Check(result.method == sgdspectra::SolverMethod::kLanczos && result.converged == 3 &&
            result.values.size() == 3 && result.vectors.cols() == 3 && result.vectors.rows() == n,
        "Lanczos converged 3 of 3 pairs (" + std::to_string(result.products) + " products)");
  if (result.values.size() == 3 && result.vectors.cols() == 3 && result.vectors.rows() == n) {
    const double expected[3] = {5.0, 4.0, 3.0};
    for (int j = 0; j < 3; ++j) {
      // The eigenvector of expected[j] is the unit vector at index n - 1 - j.
      const double value = result.values(j);
      const double weight = std::abs(result.vectors(n - 1 - j, j));
      Check(std::abs(value - expected[j]) < 1e-8 && std::abs(weight - 1.0) < 1e-6,
            "eigenpair " + std::to_string(j) + ": value " + std::to_string(value) + ", |v(" +
                std::to_string(n - 1 - j) + ")| = " + std::to_string(weight));
    }
  }

  std::printf("%s\n",
              failures == 0 ? "install consumer: all checks passed" : "install consumer: FAILED");
  return failures == 0 ? 0 : 1;
}
