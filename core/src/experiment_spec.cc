#include "sgdspectra/core/experiment_spec.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <type_traits>
#include <variant>

#include "sgdspectra/core/gram_form.h"
#include "sgdspectra/core/spec_fields.h"
#include "sgdspectra/core/theory_track.h"
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

constexpr long kMaxSteps = 10000000000L;

// A numeric member's value as a double (the bounds' type); nullopt for strings, lists, enums.
std::optional<double> NumericValue(const SpecMember& member) {
  return std::visit(
      [](auto* value) -> std::optional<double> {
        using T = std::remove_pointer_t<decltype(value)>;
        if constexpr (std::is_arithmetic_v<T>) {
          return static_cast<double>(*value);
        } else {
          return std::nullopt;
        }
      },
      member);
}

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

ExperimentSpec ExperimentSpec::Resolved() const {
  ExperimentSpec resolved = *this;
  resolved.analysis.top_r = ResolvedTopR();
  resolved.analysis.top_r_full = ResolvedTopRFull();
  resolved.progress_every_steps = ResolvedProgressEvery();
  return resolved;
}

Status ExperimentSpec::Validate() const {
  if (name.size() > kMaxNameBytes) return OutOfRange("name", "at most 200 bytes", name.size());
  if (task != TaskKind::kKgmm && task != TaskKind::kXor) {
    return Status::InvalidArgument("task: unknown task");
  }
  // Every row's own bound first, so that the cross-field rules below see values in range.
  for (const SpecField& field : SpecFields()) {
    if (!field.bound || (field.applies != nullptr && !field.applies(*this))) continue;
    const std::optional<double> value = NumericValue(MemberOf(field, *this));
    if (value && !field.bound->Contains(*value)) {
      return OutOfRange(field.path, field.bound->Describe(), *value);
    }
  }
  for (Status (ExperimentSpec::*rules)() const :
       {&ExperimentSpec::ValidateKgmmRules, &ExperimentSpec::ValidateSgdAndSchedule,
        &ExperimentSpec::ValidateAnalysisRules, &ExperimentSpec::ValidateResources}) {
    Status status = (this->*rules)();
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

Status ExperimentSpec::ValidateKgmmRules() const {
  if (task != TaskKind::kKgmm) return Status::Ok();
  const int k = kgmm.num_classes;
  if (k > kgmm.dim) return OutOfRange("kgmm.num_classes", "<= kgmm.dim", k);
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
  if (kgmm.mean_gram.empty()) return Status::Ok();
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
  return Status::Ok();
}

Status ExperimentSpec::ValidateSgdAndSchedule() const {
  if (sgd.steps == 0 && !(sgd.t_end / ResolvedStepSize() <= static_cast<double>(kMaxSteps))) {
    // An explicit step size is the likelier culprit (a tiny one); otherwise the end time.
    if (sgd.step_size > 0) {
      return OutOfRange("sgd.step_size", "at least t_end / 1e10 (at most 1e10 steps)",
                        sgd.step_size);
    }
    return OutOfRange("sgd.t_end", "at most 1e10 steps (t_end / step size)", sgd.t_end);
  }
  const long total_steps = ResolvedSteps();
  if (schedule.kind == ScheduleKind::kEverySteps) {
    if (total_steps / schedule.every_steps > 100000) {
      return OutOfRange("schedule.every_steps",
                        "at least steps / 100000 (at most 100000 snapshots)", schedule.every_steps);
    }
    return Status::Ok();
  }
  const double t_end = total_steps * ResolvedStepSize();
  if (!(schedule.t_first > 0) || (t_end > 0 && !(schedule.t_first < t_end))) {
    return OutOfRange("schedule.t_first", "in (0, t_end)", schedule.t_first);
  }
  return Status::Ok();
}

Status ExperimentSpec::ValidateAnalysisRules() const {
  if (TestSampleSize() < 2) {
    return OutOfRange("analysis.test_ratio", "giving M_test >= 2", analysis.test_ratio);
  }
  if (ResolvedTopR() >= Dim()) {
    return OutOfRange("analysis.top_r", "below the block size d (resolved value shown)",
                      ResolvedTopR());
  }
  // The derived 2k(k-1) + 4 exceeds the field's own bound for k > 32; a job records the
  // resolved value, which must validate when resubmitted.
  if (analysis.full_matrices && analysis.top_r_full == 0 &&
      !FindSpecField("analysis.top_r_full")->bound->Contains(ResolvedTopRFull())) {
    return Status::InvalidArgument(
        "analysis.top_r_full: the default 2k(k-1) + 4 = " + std::to_string(ResolvedTopRFull()) +
        " is above the bound " + FindSpecField("analysis.top_r_full")->bound->Describe() +
        "; set analysis.top_r_full (a count that reaches it is a lower bound) or "
        "analysis.full_matrices = false");
  }
  if (analysis.full_matrices && ResolvedTopRFull() >= NumBlocks() * Dim()) {
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
  if (analysis.outliers.method == OutlierMethod::kDecoyNull) {
    return Status::InvalidArgument(
        "analysis.outlier_method: DECOY_NULL applies to hidden-space blocks only (the XOR "
        "second layer always uses it); choose it for no input-space block");
  }
  const int theory_max = task == TaskKind::kXor ? kMaxTheoryHidden : kMaxTheoryClasses;
  if (analysis.theory && NumBlocks() > theory_max) {
    return Status::InvalidArgument(
        std::string("analysis.theory: the prediction takes ") +
        (task == TaskKind::kXor ? "xor_task.hidden" : "kgmm.num_classes") +
        " <= " + std::to_string(theory_max) + ", got " + std::to_string(NumBlocks()));
  }
  return Status::Ok();
}

Status ExperimentSpec::ValidateResources() const {
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
