#include "sgdspectra/core/spec_fields.h"

#include <cmath>
#include <cstdio>

namespace sgdspectra {
namespace {

bool IsKgmm(const ExperimentSpec& spec) { return spec.task == TaskKind::kKgmm; }
bool IsXor(const ExperimentSpec& spec) { return spec.task == TaskKind::kXor; }
bool IsEverySteps(const ExperimentSpec& spec) {
  return spec.schedule.kind == ScheduleKind::kEverySteps;
}
// top_r_full is unused without the full matrices; its default 2k(k-1) + 4 exceeds 2000 for
// k > 32, and a job records the resolved value, so an unused one must not be refused.
bool UsesFullMatrices(const ExperimentSpec& spec) { return spec.analysis.full_matrices; }
bool IsLogSpaced(const ExperimentSpec& spec) {
  return spec.schedule.kind == ScheduleKind::kLogSpacedTime;
}

// Bounds as the proto comments write them: integers up to 100000 in full, powers of ten from
// 1e5 on (and below 1e-4) as 1eN, everything else as %g.
std::string FormatBoundValue(double value) {
  char text[32];
  const double exponent = std::log10(std::abs(value));
  if (value == std::floor(value) && std::abs(value) <= 100000) {
    std::snprintf(text, sizeof(text), "%.0f", value);
  } else if (value > 0 && exponent == std::round(exponent) && std::abs(exponent) >= 4) {
    std::snprintf(text, sizeof(text), "1e%d", static_cast<int>(exponent));
  } else {
    std::snprintf(text, sizeof(text), "%g", value);
  }
  return text;
}

// The member accessors: capture-free lambdas, one per row, so the table is plain data.
#define SGDSPECTRA_MEMBER(expr) [](ExperimentSpec& s) -> SpecMember { return &s.expr; }

// JobSpec's own scalars before the task.
std::vector<SpecField> JobFields() {
  using P = Presence;
  return {
      {"name", P::kAsIs, SGDSPECTRA_MEMBER(name), std::nullopt},  // length: Validate()
      {"seed", P::kAsIs, SGDSPECTRA_MEMBER(seed), std::nullopt},  // any value
  };
}

// KgmmTask (task A).
std::vector<SpecField> KgmmFields() {
  using P = Presence;
  return {
      {"kgmm.dim", P::kZeroIsDefault, SGDSPECTRA_MEMBER(kgmm.dim), Closed(2, 100000), IsKgmm},
      {"kgmm.num_classes", P::kZeroIsDefault, SGDSPECTRA_MEMBER(kgmm.num_classes), Closed(2, 64),
       IsKgmm},
      {"kgmm.snr", P::kZeroIsDefault, SGDSPECTRA_MEMBER(kgmm.snr), LeftOpen(0, 1e8), IsKgmm},
      // Entries, length and the Gram's definiteness: Validate().
      {"kgmm.class_probs", P::kAsIs, SGDSPECTRA_MEMBER(kgmm.class_probs), std::nullopt, IsKgmm},
      {"kgmm.mean_gram", P::kAsIs, SGDSPECTRA_MEMBER(kgmm.mean_gram), std::nullopt, IsKgmm},
      {"kgmm.ridge", P::kOptional, SGDSPECTRA_MEMBER(kgmm.ridge), Closed(0, 1000), IsKgmm},
  };
}

// XorTask (task B).
std::vector<SpecField> XorFields() {
  using P = Presence;
  return {
      {"xor_task.dim", P::kZeroIsDefault, SGDSPECTRA_MEMBER(xor_task.dim), Closed(4, 100000),
       IsXor},
      {"xor_task.hidden", P::kZeroIsDefault, SGDSPECTRA_MEMBER(xor_task.hidden), Closed(1, 64),
       IsXor},
      {"xor_task.snr", P::kZeroIsDefault, SGDSPECTRA_MEMBER(xor_task.snr), LeftOpen(0, 1e8), IsXor},
      {"xor_task.ridge", P::kOptional, SGDSPECTRA_MEMBER(xor_task.ridge), Closed(0, 1000), IsXor},
      {"xor_task.second_layer_margin", P::kOptional,
       SGDSPECTRA_MEMBER(xor_task.second_layer_margin), Closed(0, 1000), IsXor},
      {"xor_task.decoy_draws", P::kZeroIsDefault, SGDSPECTRA_MEMBER(xor_task.decoy_draws),
       Closed(1, 64), IsXor},
  };
}

// SgdSettings.
std::vector<SpecField> SgdFields() {
  using P = Presence;
  const double kMaxSteps = 1e10;
  return {
      {"sgd.c_delta", P::kZeroIsDefault, SGDSPECTRA_MEMBER(sgd.c_delta), LeftOpen(0, 1000)},
      {"sgd.step_size", P::kAsIs, SGDSPECTRA_MEMBER(sgd.step_size),
       FieldBound{0, 10, true, false, /*zero_allowed=*/true}},
      {"sgd.steps", P::kAsIs, SGDSPECTRA_MEMBER(sgd.steps), Closed(0, kMaxSteps)},
      {"sgd.t_end", P::kOptional, SGDSPECTRA_MEMBER(sgd.t_end), Closed(0, 1e6)},
  };
}

// Schedule.
std::vector<SpecField> ScheduleFields() {
  using P = Presence;
  const double kMaxSteps = 1e10;
  return {
      {"schedule.kind", P::kZeroIsDefault, SGDSPECTRA_MEMBER(schedule.kind), std::nullopt},
      {"schedule.every_steps", P::kAsIs, SGDSPECTRA_MEMBER(schedule.every_steps),
       Closed(1, kMaxSteps), IsEverySteps},
      {"schedule.num_points", P::kZeroIsDefault, SGDSPECTRA_MEMBER(schedule.num_points),
       Closed(2, 1000), IsLogSpaced},
      // (0, t_end): Validate().
      {"schedule.t_first", P::kZeroIsDefault, SGDSPECTRA_MEMBER(schedule.t_first), std::nullopt,
       IsLogSpaced},
  };
}

// AnalysisSettings.
std::vector<SpecField> AnalysisFields() {
  using P = Presence;
  return {
      {"analysis.test_ratio", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.test_ratio),
       Closed(0.1, 100)},
      {"analysis.top_r", P::kAsIs, SGDSPECTRA_MEMBER(analysis.top_r), Closed(0, 500)},
      {"analysis.top_r_full", P::kAsIs, SGDSPECTRA_MEMBER(analysis.top_r_full), Closed(0, 2000),
       UsesFullMatrices},
      {"analysis.class_blocks", P::kOptional, SGDSPECTRA_MEMBER(analysis.class_blocks),
       std::nullopt},
      {"analysis.full_matrices", P::kOptional, SGDSPECTRA_MEMBER(analysis.full_matrices),
       std::nullopt},
      {"analysis.g_matrix", P::kOptional, SGDSPECTRA_MEMBER(analysis.g_matrix), std::nullopt},
      // 0 or (largest r, 5000]: Validate().
      {"analysis.ncv", P::kAsIs, SGDSPECTRA_MEMBER(analysis.solver.ncv), std::nullopt},
      {"analysis.tol", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.solver.tol), LeftOpen(0, 0.1)},
      {"analysis.max_restarts", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.solver.max_restarts),
       Closed(1, 100000)},
      // DECOY_NULL is refused for input-space blocks: Validate().
      {"analysis.outlier_method", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.outliers.method),
       std::nullopt},
      {"analysis.outlier_margin", P::kOptional, SGDSPECTRA_MEMBER(analysis.outliers.margin),
       Closed(0, 10)},
      {"analysis.gap_ratio", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.outliers.gap_ratio),
       Closed(1, 1e6)},
      {"analysis.rank_tolerance", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.rank_tolerance),
       Open(0, 1)},
      // The proto's 0 is the server's --threads, which the server writes before converting.
      {"analysis.threads", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.threads), Closed(1, 256)},
      {"analysis.solve_target", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.solve_target),
       std::nullopt},
      {"analysis.certify_below", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.certify_below),
       Closed(1, 100)},
      {"analysis.null_tol", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.null_tol),
       Closed(1e-14, 0.1)},
      {"analysis.solver_seed", P::kAsIs, SGDSPECTRA_MEMBER(analysis.solver_seed), std::nullopt},
      {"analysis.density_probes", P::kAsIs, SGDSPECTRA_MEMBER(analysis.density_probes),
       Closed(0, 100)},
      {"analysis.density_steps", P::kZeroIsDefault, SGDSPECTRA_MEMBER(analysis.density_steps),
       Closed(2, 300)},
      // k <= 8 (k-GMM) or K <= 8 (XOR): Validate().
      {"analysis.theory", P::kAsIs, SGDSPECTRA_MEMBER(analysis.theory), std::nullopt},
  };
}

// JobSpec's own scalars after the settings.
std::vector<SpecField> ResourceFields() {
  using P = Presence;
  return {
      {"progress_every_steps", P::kAsIs, SGDSPECTRA_MEMBER(progress_every_steps), Closed(0, 1e12)},
      // [1 MiB, 1 TiB] and the job's estimate: Validate().
      {"memory_budget_bytes", P::kZeroIsDefault, SGDSPECTRA_MEMBER(memory_budget_bytes),
       std::nullopt},
      {"random_stream_version", P::kZeroIsDefault, SGDSPECTRA_MEMBER(random_stream_version),
       Closed(1, kLatestRandomStreamVersion)},

  };
}

std::vector<SpecField> BuildSpecFields() {
  std::vector<SpecField> fields;
  for (auto section : {JobFields, KgmmFields, XorFields, SgdFields, ScheduleFields, AnalysisFields,
                       ResourceFields}) {
    for (SpecField& field : section()) fields.push_back(field);
  }
  return fields;
}

#undef SGDSPECTRA_MEMBER

}  // namespace

bool FieldBound::Contains(double value) const {
  if (zero_allowed && value == 0) return true;
  // Written so that NaN fails: every comparison with NaN is false.
  const bool above = lo_open ? value > lo : value >= lo;
  const bool below = hi_open ? value < hi : value <= hi;
  return above && below;
}

std::string FieldBound::Describe() const {
  std::string text = zero_allowed ? "0 or in " : "in ";
  text += lo_open ? "(" : "[";
  text += FormatBoundValue(lo) + ", " + FormatBoundValue(hi);
  text += hi_open ? ")" : "]";
  return text;
}

FieldBound Closed(double lo, double hi) { return FieldBound{lo, hi, false, false, false}; }
FieldBound LeftOpen(double lo, double hi) { return FieldBound{lo, hi, true, false, false}; }
FieldBound Open(double lo, double hi) { return FieldBound{lo, hi, true, true, false}; }

const std::vector<SpecField>& SpecFields() {
  static const std::vector<SpecField> fields = BuildSpecFields();
  return fields;
}

const SpecField* FindSpecField(const std::string& path) {
  for (const SpecField& field : SpecFields()) {
    if (path == field.path) return &field;
  }
  return nullptr;
}

SpecMember MemberOf(const SpecField& field, const ExperimentSpec& spec) {
  // The accessors only take an address; nothing is written through a const spec.
  return field.member(const_cast<ExperimentSpec&>(spec));
}

const char* TaskFieldName(TaskKind task) { return task == TaskKind::kXor ? "xor_task" : "kgmm"; }

std::optional<TaskKind> TaskFromFieldName(const std::string& name) {
  if (name == "kgmm") return TaskKind::kKgmm;
  if (name == "xor_task") return TaskKind::kXor;
  return std::nullopt;
}

const std::vector<std::string>& ProtoEnumValueNames(ScheduleKind) {
  static const std::vector<std::string> names = {"LOG_SPACED_TIME", "EVERY_STEPS"};
  return names;
}

const std::vector<std::string>& ProtoEnumValueNames(OutlierMethod) {
  static const std::vector<std::string> names = {"NULL_MODEL", "MARCHENKO_PASTUR", "LARGEST_GAP",
                                                 "DECOY_NULL"};
  return names;
}

const std::vector<std::string>& ProtoEnumValueNames(SolveTarget) {
  static const std::vector<std::string> names = {"OUTLIERS", "TOP_R"};
  return names;
}

}  // namespace sgdspectra
