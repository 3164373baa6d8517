#include "sgdspectra/core/experiment_spec.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <sstream>

#include "sgdspectra/core/gram_form.h"
#include "sgdspectra/core/types.h"

namespace sgdspectra {
namespace {

std::string FormatNumber(double v) {
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}

Status OutOfRange(const char* field, const std::string& bound, double value) {
  return Status::InvalidArgument(std::string(field) + ": must be " + bound + ", got " +
                                 FormatNumber(value));
}

// Written so that NaN fails every check: !(lo <= v && v <= hi).
bool InClosed(double v, double lo, double hi) { return v >= lo && v <= hi; }
bool InLeftOpen(double v, double lo, double hi) { return v > lo && v <= hi; }

constexpr long kMaxDim = 100000;
constexpr int kMaxClasses = 64;
constexpr long kMaxSteps = 10000000000L;

}  // namespace

double ExperimentSpec::ResolvedStepSize() const {
  return sgd.step_size > 0 ? sgd.step_size : sgd.c_delta / static_cast<double>(Dim());
}

long ExperimentSpec::ResolvedSteps() const {
  if (sgd.steps > 0) return sgd.steps;
  return static_cast<long>(std::llround(sgd.t_end / ResolvedStepSize()));
}

long ExperimentSpec::TestSampleSize() const {
  return static_cast<long>(std::ceil(analysis.test_ratio * static_cast<double>(Dim()) - 1e-9));
}

int ExperimentSpec::ResolvedTopR() const {
  return analysis.top_r > 0 ? analysis.top_r : 2 * ExpectedClassOutliers() + 4;
}

int ExperimentSpec::ResolvedTopRFull() const {
  return analysis.top_r_full > 0 ? analysis.top_r_full : 2 * ExpectedFullOutliers() + 4;
}

int ExperimentSpec::ResolvedNcv(int r, long n) const {
  const long ncv = analysis.solver.ncv > 0 ? analysis.solver.ncv : std::max(2 * r + 1, 20);
  return static_cast<int>(std::min(ncv, n));
}

long ExperimentSpec::ResolvedProgressEvery() const {
  if (progress_every_steps > 0) return progress_every_steps;
  return std::max(1L, ResolvedSteps() / 50);
}

double ExperimentSpec::EstimatedBytes() const {
  const double d = static_cast<double>(Dim());
  const double k = NumBlocks();
  const double m = static_cast<double>(TestSampleSize());
  const bool xor_task = task == TaskKind::kXor;
  const double kinds = analysis.g_matrix ? 2 : 1;
  // The test inputs and the null inputs, and per-sample model outputs; the process itself.
  double bytes = 8.0 * (2.0 * m * d + 8.0 * m * k) + 32.0 * (1 << 20);
  // A thick-restart solve holds its basis (ncv + 1 vectors of n, ncv = 2 min_pairs + 1 to
  // start with), the compression buffer (about as large) and the vectors it returns. OUTLIERS
  // solves start from the expected count and usually return a couple more; TOP_R ones return
  // the cap.
  const bool top_r = analysis.solve_target == SolveTarget::kTopR;
  auto krylov = [&](double n, double cap, double expected) {
    const double min_pairs = top_r ? cap : std::min(cap, std::max(expected, 1.0));
    const double returned = top_r ? cap : std::min(cap, min_pairs + analysis.certify_below);
    const double ncv = std::min(n, std::max(2.0 * min_pairs + 1.0, 20.0));
    return 8.0 * n * (2.0 * ncv + returned);
  };
  // Reduction partials of a matrix-free operator of size n (SampleGramOperator).
  const double partial_blocks = std::clamp(std::floor(m / 128.0), 1.0, 32.0);
  auto partials = [&](double n) { return 8.0 * partial_blocks * n; };
  // Class / neuron blocks: one lockstep family, every problem's basis alive at once.
  if (analysis.class_blocks) {
    bytes += kinds * k * krylov(d, ResolvedTopR(), ExpectedClassOutliers());
  }
  if (analysis.full_matrices) {
    const double full_n = k * d + (xor_task ? k : 0);
    const double r = ResolvedTopRFull();
    const double expected = ExpectedFullOutliers();
    // Matrix-free solves: k-GMM full H (and G without the Gram form); XOR full H, full G,
    // first-layer H (and first-layer G without the Gram form). Each has an operator and a null
    // operator; the solves' bases are all counted (an upper bound when fewer run at once).
    const bool gram = analysis.g_matrix && GramFormFits(static_cast<long>(m));
    double matrix_free = xor_task ? 1 + kinds : 1;
    if (analysis.g_matrix && !gram) matrix_free += 1;
    bytes += matrix_free * (krylov(full_n, r, expected) + 2.0 * partials(full_n));
    if (gram) {
      // Y Y^T and N N^T for the run, and each Gram block's matrix and null matrix (M x M);
      // its solve runs in R^M and lifts r vectors of the block's size.
      bytes += 8.0 * 2.0 * m * m + 8.0 * 2.0 * m * m + krylov(m, r, expected) + 8.0 * full_n * r;
    }
  }
  return bytes;
}

std::vector<long> ExperimentSpec::SnapshotSteps() const {
  const long total = ResolvedSteps();
  std::vector<long> steps{0};
  if (schedule.kind == ScheduleKind::kEverySteps) {
    for (long s = schedule.every_steps; s < total; s += schedule.every_steps) steps.push_back(s);
  } else {
    const double t_end = total * ResolvedStepSize();
    const int points = schedule.num_points;
    if (points > 2 && t_end > schedule.t_first) {
      const double ratio = t_end / schedule.t_first;
      for (int i = 0; i < points - 2; ++i) {
        const double t = schedule.t_first * std::pow(ratio, static_cast<double>(i) / (points - 2));
        const long s = static_cast<long>(std::llround(t / ResolvedStepSize()));
        if (s > steps.back() && s < total) steps.push_back(s);
      }
    }
  }
  if (total > steps.back()) steps.push_back(total);
  return steps;
}

Status ExperimentSpec::Validate() const {
  if (name.size() > 200) return OutOfRange("name", "at most 200 bytes", name.size());
  if (random_stream_version < 1 || random_stream_version > kLatestRandomStreamVersion) {
    return OutOfRange("random_stream_version",
                      "0 (latest) or in [1, " + std::to_string(kLatestRandomStreamVersion) + "]",
                      random_stream_version);
  }
  if (task == TaskKind::kXor) {
    Status xor_status = ValidateXor();
    if (!xor_status.ok()) return xor_status;
  } else if (task == TaskKind::kKgmm) {
    Status kgmm_status = ValidateKgmm();
    if (!kgmm_status.ok()) return kgmm_status;
  } else {
    return Status::InvalidArgument("task: unknown task");
  }
  return ValidateRun();
}

Status ExperimentSpec::ValidateXor() const {
  const XorSpec& x = xor_task;
  if (x.dim < 4 || x.dim > kMaxDim) return OutOfRange("xor_task.dim", "in [4, 100000]", x.dim);
  if (x.hidden < 1 || x.hidden > 64) return OutOfRange("xor_task.hidden", "in [1, 64]", x.hidden);
  if (!InLeftOpen(x.snr, 0, 1e8)) return OutOfRange("xor_task.snr", "in (0, 1e8]", x.snr);
  if (!InClosed(x.ridge, 0, 1000)) return OutOfRange("xor_task.ridge", "in [0, 1000]", x.ridge);
  if (!InClosed(x.second_layer_margin, 0, 1000)) {
    return OutOfRange("xor_task.second_layer_margin", "in [0, 1000]", x.second_layer_margin);
  }
  if (x.decoy_draws < 1 || x.decoy_draws > 64) {
    return OutOfRange("xor_task.decoy_draws", "in [1, 64]", x.decoy_draws);
  }
  return Status::Ok();
}

Status ExperimentSpec::ValidateKgmm() const {
  if (kgmm.dim < 2 || kgmm.dim > kMaxDim) {
    return OutOfRange("kgmm.dim", "in [2, 100000]", kgmm.dim);
  }
  const int k = kgmm.num_classes;
  if (k < 2 || k > kMaxClasses) return OutOfRange("kgmm.num_classes", "in [2, 64]", k);
  if (k > kgmm.dim) return OutOfRange("kgmm.num_classes", "<= kgmm.dim", k);
  if (!InLeftOpen(kgmm.snr, 0, 1e8)) return OutOfRange("kgmm.snr", "in (0, 1e8]", kgmm.snr);
  if (!kgmm.class_probs.empty()) {
    if (static_cast<int>(kgmm.class_probs.size()) != k) {
      return OutOfRange("kgmm.class_probs", "empty or exactly num_classes entries",
                        kgmm.class_probs.size());
    }
    double total = 0;
    for (double p : kgmm.class_probs) {
      if (!InLeftOpen(p, 0, 1)) return OutOfRange("kgmm.class_probs", "entries in (0, 1]", p);
      total += p;
    }
    if (std::abs(total - 1.0) > 1e-6) {
      return OutOfRange("kgmm.class_probs", "summing to 1 (within 1e-6)", total);
    }
  }
  if (!kgmm.mean_gram.empty()) {
    if (static_cast<long>(kgmm.mean_gram.size()) != static_cast<long>(k) * k) {
      return OutOfRange("kgmm.mean_gram", "empty or num_classes^2 entries", kgmm.mean_gram.size());
    }
    for (double g : kgmm.mean_gram) {
      if (!std::isfinite(g) || std::abs(g) > 1e6) {
        return OutOfRange("kgmm.mean_gram", "finite entries with |g| <= 1e6", g);
      }
    }
    Eigen::Map<const RowMatrix> gram(kgmm.mean_gram.data(), k, k);
    if ((gram - gram.transpose()).cwiseAbs().maxCoeff() > 1e-9 * (1 + gram.cwiseAbs().maxCoeff())) {
      return Status::InvalidArgument("kgmm.mean_gram: must be symmetric");
    }
    Eigen::LLT<MatrixXd> llt{MatrixXd(gram)};
    if (llt.info() != Eigen::Success) {
      return Status::InvalidArgument("kgmm.mean_gram: must be positive definite");
    }
  }
  if (!InClosed(kgmm.ridge, 0, 1000)) return OutOfRange("kgmm.ridge", "in [0, 1000]", kgmm.ridge);
  return Status::Ok();
}

Status ExperimentSpec::ValidateRun() const {
  const int k = NumBlocks();
  const long dim = Dim();

  // SGD.
  if (!InLeftOpen(sgd.c_delta, 0, 1000)) {
    return OutOfRange("sgd.c_delta", "in (0, 1000]", sgd.c_delta);
  }
  if (!(sgd.step_size == 0 || InLeftOpen(sgd.step_size, 0, 10))) {
    return OutOfRange("sgd.step_size", "0 (= c_delta / d) or in (0, 10]", sgd.step_size);
  }
  if (sgd.steps < 0 || sgd.steps > kMaxSteps) {
    return OutOfRange("sgd.steps", "in [0, 1e10]", sgd.steps);
  }
  if (!InClosed(sgd.t_end, 0, 1e6)) return OutOfRange("sgd.t_end", "in [0, 1e6]", sgd.t_end);
  if (sgd.steps == 0 && !(sgd.t_end / ResolvedStepSize() <= static_cast<double>(kMaxSteps))) {
    return OutOfRange("sgd.t_end", "at most 1e10 steps (t_end / step size)", sgd.t_end);
  }

  // Schedule.
  const long total_steps = ResolvedSteps();
  if (schedule.kind == ScheduleKind::kEverySteps) {
    if (schedule.every_steps < 1 || schedule.every_steps > kMaxSteps) {
      return OutOfRange("schedule.every_steps", "in [1, 1e10] for EVERY_STEPS",
                        schedule.every_steps);
    }
    if (total_steps / schedule.every_steps > 100000) {
      return OutOfRange("schedule.every_steps",
                        "at least steps / 100000 (at most 100000 snapshots)", schedule.every_steps);
    }
  } else {
    if (schedule.num_points < 2 || schedule.num_points > 1000) {
      return OutOfRange("schedule.num_points", "in [2, 1000]", schedule.num_points);
    }
    const double t_end = total_steps * ResolvedStepSize();
    if (!(schedule.t_first > 0) || (t_end > 0 && !(schedule.t_first < t_end))) {
      return OutOfRange("schedule.t_first", "in (0, t_end)", schedule.t_first);
    }
  }

  // Analysis.
  if (!InClosed(analysis.test_ratio, 0.1, 100)) {
    return OutOfRange("analysis.test_ratio", "in [0.1, 100]", analysis.test_ratio);
  }
  if (TestSampleSize() < 2)
    return OutOfRange("analysis.test_ratio", "giving M_test >= 2", analysis.test_ratio);
  if (analysis.top_r < 0 || analysis.top_r > 500) {
    return OutOfRange("analysis.top_r", "in [0, 500]", analysis.top_r);
  }
  if (ResolvedTopR() >= dim) {
    return OutOfRange("analysis.top_r", "below the block size d (resolved value shown)",
                      ResolvedTopR());
  }
  if (analysis.top_r_full < 0 || analysis.top_r_full > 2000) {
    return OutOfRange("analysis.top_r_full", "in [0, 2000]", analysis.top_r_full);
  }
  if (analysis.full_matrices && ResolvedTopRFull() >= k * dim) {
    return OutOfRange("analysis.top_r_full", "below k * d (resolved value shown)",
                      ResolvedTopRFull());
  }
  if (analysis.solver.ncv != 0) {
    const int r_max = std::max(ResolvedTopR(), analysis.full_matrices ? ResolvedTopRFull() : 0);
    if (analysis.solver.ncv <= r_max || analysis.solver.ncv > 5000) {
      return OutOfRange("analysis.ncv", "0 (auto) or in (r, 5000] with r the largest top_r",
                        analysis.solver.ncv);
    }
  }
  if (analysis.certify_below < 1 || analysis.certify_below > 100) {
    return OutOfRange("analysis.certify_below", "in [1, 100]", analysis.certify_below);
  }
  if (!InClosed(analysis.null_tol, 1e-14, 0.1)) {
    return OutOfRange("analysis.null_tol", "in [1e-14, 0.1]", analysis.null_tol);
  }
  if (!InLeftOpen(analysis.solver.tol, 0, 0.1)) {
    return OutOfRange("analysis.tol", "in (0, 0.1]", analysis.solver.tol);
  }
  if (analysis.solver.max_restarts < 1 || analysis.solver.max_restarts > 100000) {
    return OutOfRange("analysis.max_restarts", "in [1, 100000]", analysis.solver.max_restarts);
  }
  if (analysis.outliers.method == OutlierMethod::kDecoyNull) {
    return Status::InvalidArgument(
        "analysis.outlier_method: DECOY_NULL applies to hidden-space blocks only (the XOR "
        "second layer always uses it); choose it for no input-space block");
  }
  if (!InClosed(analysis.outliers.margin, 0, 10)) {
    return OutOfRange("analysis.outlier_margin", "in [0, 10]", analysis.outliers.margin);
  }
  if (!InClosed(analysis.outliers.gap_ratio, 1, 1e6)) {
    return OutOfRange("analysis.gap_ratio", "in [1, 1e6]", analysis.outliers.gap_ratio);
  }
  if (!(analysis.rank_tolerance > 0 && analysis.rank_tolerance < 1)) {
    return OutOfRange("analysis.rank_tolerance", "in (0, 1)", analysis.rank_tolerance);
  }
  if (analysis.threads < 1 || analysis.threads > 256) {
    return OutOfRange("analysis.threads", "in [1, 256]", analysis.threads);
  }

  // Resources.
  if (progress_every_steps < 0 || progress_every_steps > 1000000000000L) {
    return OutOfRange("progress_every_steps", "in [0, 1e12]", progress_every_steps);
  }
  if (!InClosed(memory_budget_bytes, 1 << 20, 1099511627776.0)) {
    return OutOfRange("memory_budget_bytes", "in [1 MiB, 1 TiB]", memory_budget_bytes);
  }
  if (EstimatedBytes() > memory_budget_bytes) {
    return Status::InvalidArgument(
        "memory_budget_bytes: the job needs about " + FormatNumber(EstimatedBytes() / (1 << 20)) +
        " MiB (the dimension, blocks, analysis.test_ratio, analysis.top_r_full), above the "
        "budget of " +
        FormatNumber(memory_budget_bytes / (1 << 20)) + " MiB");
  }
  return Status::Ok();
}

}  // namespace sgdspectra
