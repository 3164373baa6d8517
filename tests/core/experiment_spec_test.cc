#include "sgdspectra/core/experiment_spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "sgdspectra/core/spec_fields.h"

namespace sgdspectra {
namespace {

TEST(ExperimentSpecTest, DefaultsAreValidAndResolveAsDocumented) {
  ExperimentSpec spec;
  ASSERT_TRUE(spec.Validate().ok()) << spec.Validate().ToString();
  EXPECT_DOUBLE_EQ(spec.ResolvedStepSize(), 1.0 / 400);
  EXPECT_EQ(spec.ResolvedSteps(), 8000);  // t = 20 at step 1/400
  EXPECT_EQ(spec.TestSampleSize(), 800);
  EXPECT_EQ(spec.ResolvedTopR(), 12);        // 2k + 4
  EXPECT_EQ(spec.ResolvedTopRFull(), 28);    // 2k(k-1) + 4
  EXPECT_EQ(spec.ResolvedNcv(12, 400), 25);  // max(2r + 1, 20)
}

TEST(ExperimentSpecTest, ScheduleIncludesZeroAndEndAndIsStrictlyIncreasing) {
  ExperimentSpec spec;
  for (auto kind : {ScheduleKind::kLogSpacedTime, ScheduleKind::kEverySteps}) {
    spec.schedule.kind = kind;
    spec.schedule.every_steps = 3000;
    const std::vector<long> steps = spec.SnapshotSteps();
    ASSERT_GE(steps.size(), 2u);
    EXPECT_EQ(steps.front(), 0);
    EXPECT_EQ(steps.back(), spec.ResolvedSteps());
    for (size_t i = 1; i < steps.size(); ++i) EXPECT_LT(steps[i - 1], steps[i]);
  }
  spec.schedule.kind = ScheduleKind::kEverySteps;
  EXPECT_EQ(spec.SnapshotSteps(), (std::vector<long>{0, 3000, 6000, 8000}));
  spec.schedule.kind = ScheduleKind::kLogSpacedTime;
  spec.schedule.num_points = 12;
  EXPECT_EQ(spec.SnapshotSteps().size(), 12u);
  EXPECT_EQ(spec.SnapshotSteps()[1], 200);  // t_first = 0.5 at step 1/400
}

struct InvalidCase {
  const char* field;
  std::function<void(ExperimentSpec&)> breaks;
};

class ValidationTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ValidationTest, MessageNamesTheField) {
  ExperimentSpec spec;
  GetParam().breaks(spec);
  const Status status = spec.Validate();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().rfind(GetParam().field, 0), 0u)
      << "message '" << status.message() << "' should start with " << GetParam().field;
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

INSTANTIATE_TEST_SUITE_P(
    EveryConstraint, ValidationTest,
    ::testing::Values(
        InvalidCase{"name", [](ExperimentSpec& s) { s.name = std::string(201, 'x'); }},
        InvalidCase{"kgmm.dim", [](ExperimentSpec& s) { s.kgmm.dim = 1; }},
        InvalidCase{"kgmm.dim", [](ExperimentSpec& s) { s.kgmm.dim = 100001; }},
        InvalidCase{"kgmm.num_classes", [](ExperimentSpec& s) { s.kgmm.num_classes = 1; }},
        InvalidCase{"kgmm.num_classes", [](ExperimentSpec& s) { s.kgmm.num_classes = 65; }},
        InvalidCase{"kgmm.num_classes",
                    [](ExperimentSpec& s) { s.kgmm.dim = 5; s.kgmm.num_classes = 6; }},
        InvalidCase{"kgmm.snr", [](ExperimentSpec& s) { s.kgmm.snr = 0; }},
        InvalidCase{"kgmm.snr", [](ExperimentSpec& s) { s.kgmm.snr = kNaN; }},
        InvalidCase{"kgmm.snr", [](ExperimentSpec& s) { s.kgmm.snr = kInf; }},
        InvalidCase{"kgmm.class_probs", [](ExperimentSpec& s) { s.kgmm.class_probs = {0.5, 0.5}; }},
        InvalidCase{"kgmm.class_probs",
                    [](ExperimentSpec& s) { s.kgmm.class_probs = {0.5, 0.5, 0.5, -0.5}; }},
        InvalidCase{"kgmm.class_probs",
                    [](ExperimentSpec& s) { s.kgmm.class_probs = {0.3, 0.3, 0.3, 0.3}; }},
        InvalidCase{"kgmm.mean_gram", [](ExperimentSpec& s) { s.kgmm.mean_gram = {1, 0, 0}; }},
        InvalidCase{"kgmm.mean_gram",
                    [](ExperimentSpec& s) {
                      s.kgmm.num_classes = 2;
                      s.kgmm.mean_gram = {1, 2, 2, 1};  // symmetric, not positive definite
                    }},
        InvalidCase{"kgmm.mean_gram",
                    [](ExperimentSpec& s) {
                      s.kgmm.num_classes = 2;
                      s.kgmm.mean_gram = {1, 0.5, 0, 1};
                    }},
        InvalidCase{"kgmm.ridge", [](ExperimentSpec& s) { s.kgmm.ridge = -0.1; }},
        InvalidCase{"kgmm.ridge", [](ExperimentSpec& s) { s.kgmm.ridge = kNaN; }},
        InvalidCase{"sgd.c_delta", [](ExperimentSpec& s) { s.sgd.c_delta = 0; }},
        InvalidCase{"sgd.c_delta", [](ExperimentSpec& s) { s.sgd.c_delta = kInf; }},
        InvalidCase{"sgd.step_size", [](ExperimentSpec& s) { s.sgd.step_size = 11; }},
        InvalidCase{"sgd.steps", [](ExperimentSpec& s) { s.sgd.steps = -1; }},
        InvalidCase{"sgd.t_end", [](ExperimentSpec& s) { s.sgd.t_end = -1; }},
        InvalidCase{"sgd.t_end", [](ExperimentSpec& s) { s.sgd.t_end = kNaN; }},
        InvalidCase{"schedule.every_steps",
                    [](ExperimentSpec& s) { s.schedule.kind = ScheduleKind::kEverySteps; }},
        InvalidCase{"schedule.num_points", [](ExperimentSpec& s) { s.schedule.num_points = 1; }},
        InvalidCase{"schedule.t_first", [](ExperimentSpec& s) { s.schedule.t_first = 25; }},
        InvalidCase{"analysis.test_ratio", [](ExperimentSpec& s) { s.analysis.test_ratio = 0.05; }},
        InvalidCase{"analysis.test_ratio", [](ExperimentSpec& s) { s.analysis.test_ratio = kNaN; }},
        InvalidCase{"analysis.top_r", [](ExperimentSpec& s) { s.analysis.top_r = -1; }},
        InvalidCase{"analysis.top_r", [](ExperimentSpec& s) { s.analysis.top_r = 400; }},
        InvalidCase{"analysis.top_r_full", [](ExperimentSpec& s) { s.analysis.top_r_full = 2001; }},
        InvalidCase{"analysis.ncv", [](ExperimentSpec& s) { s.analysis.solver.ncv = 5; }},
        InvalidCase{"analysis.tol", [](ExperimentSpec& s) { s.analysis.solver.tol = 0; }},
        InvalidCase{"analysis.max_restarts",
                    [](ExperimentSpec& s) { s.analysis.solver.max_restarts = 0; }},
        InvalidCase{"analysis.outlier_method",
                    [](ExperimentSpec& s) { s.analysis.outliers.method = OutlierMethod::kDecoyNull; }},
        InvalidCase{"analysis.outlier_margin",
                    [](ExperimentSpec& s) { s.analysis.outliers.margin = -1; }},
        InvalidCase{"analysis.gap_ratio", [](ExperimentSpec& s) { s.analysis.outliers.gap_ratio = 0.5; }},
        InvalidCase{"analysis.rank_tolerance",
                    [](ExperimentSpec& s) { s.analysis.rank_tolerance = 1; }},
        InvalidCase{"analysis.threads", [](ExperimentSpec& s) { s.analysis.threads = 0; }},
        InvalidCase{"xor_task.dim",
                    [](ExperimentSpec& s) {
                      s.task = TaskKind::kXor;
                      s.xor_task.dim = 3;
                    }},
        InvalidCase{"xor_task.hidden",
                    [](ExperimentSpec& s) {
                      s.task = TaskKind::kXor;
                      s.xor_task.hidden = 0;
                    }},
        InvalidCase{"xor_task.snr",
                    [](ExperimentSpec& s) {
                      s.task = TaskKind::kXor;
                      s.xor_task.snr = kNaN;
                    }},
        InvalidCase{"xor_task.ridge",
                    [](ExperimentSpec& s) {
                      s.task = TaskKind::kXor;
                      s.xor_task.ridge = -1;
                    }},
        InvalidCase{"xor_task.second_layer_margin",
                    [](ExperimentSpec& s) {
                      s.task = TaskKind::kXor;
                      s.xor_task.second_layer_margin = -1;
                    }},
        InvalidCase{"xor_task.decoy_draws",
                    [](ExperimentSpec& s) {
                      s.task = TaskKind::kXor;
                      s.xor_task.decoy_draws = 65;
                    }},
        InvalidCase{"progress_every_steps", [](ExperimentSpec& s) { s.progress_every_steps = -5; }},
        InvalidCase{"memory_budget_bytes", [](ExperimentSpec& s) { s.memory_budget_bytes = 10; }},
        InvalidCase{"memory_budget_bytes",
                    [](ExperimentSpec& s) {
                      s.kgmm.dim = 100000;
                      s.analysis.test_ratio = 100;  // 160 GB of test sample
                    }}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) {
      std::string name = info.param.field;
      std::replace(name.begin(), name.end(), '.', '_');
      return name + "_" + std::to_string(info.index);
    });

}  // namespace
}  // namespace sgdspectra

namespace sgdspectra {
namespace {

// The bound check runs every row of spec_fields.h: just outside each bound (and NaN for reals)
// is refused naming the row's path, the bound's own ends are accepted (closed) or refused
// (open). The bounds themselves are checked against the proto's documentation end to end in
// tests/server/validation_test.cc.
TEST(SpecFieldBoundsTest, EveryBoundedRowIsCheckedAtItsEnds) {
  int bounded = 0;
  for (const SpecField& row : SpecFields()) {
    if (!row.bound) continue;
    ++bounded;
    ExperimentSpec base;
    base.task = std::string(row.path).rfind("xor_task.", 0) == 0 ? TaskKind::kXor : TaskKind::kKgmm;
    if (std::string(row.path) == "schedule.every_steps") {
      base.schedule.kind = ScheduleKind::kEverySteps;
      base.schedule.every_steps = 1000;
    }
    ASSERT_TRUE(base.Validate().ok()) << base.Validate().ToString();
    const bool is_real = std::holds_alternative<double*>(row.member(base));
    // Sets the member, rounding to its type; false when the value cannot be represented.
    auto set = [&](ExperimentSpec* spec, double value) {
      return std::visit(
          [&](auto* member) {
            using T = std::remove_pointer_t<decltype(member)>;
            if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
              *member = static_cast<T>(value);
              return static_cast<double>(*member) == value || std::isnan(value);
            }
            return false;
          },
          row.member(*spec));
    };
    const FieldBound& bound = *row.bound;
    // A relative step for reals, so that it survives rounding at either end.
    auto step = [&](double end) { return is_real ? std::max(std::abs(end), 1.0) * 1e-9 : 1.0; };
    std::vector<double> outside = {bound.lo - step(bound.lo), bound.hi + step(bound.hi)};
    if (is_real) outside.push_back(std::numeric_limits<double>::quiet_NaN());
    for (double value : outside) {
      ExperimentSpec spec = base;
      if (!set(&spec, value)) continue;
      const Status status = spec.Validate();
      EXPECT_FALSE(status.ok()) << row.path << " = " << value;
      EXPECT_EQ(status.message().rfind(std::string(row.path) + ": must be ", 0), 0u)
          << row.path << " = " << value << ": " << status.message();
    }
    // The ends: a closed end is inside; an open one outside (and the message says which).
    const bool zero_is_lo = bound.zero_allowed && bound.lo == 0;  // "0 or in (0, hi]"
    EXPECT_EQ(bound.Contains(bound.lo), !bound.lo_open || zero_is_lo) << row.path;
    EXPECT_EQ(bound.Contains(bound.hi), !bound.hi_open) << row.path;
  }
  EXPECT_GE(bounded, 25);  // the table is not empty by accident
}

TEST(SpecFieldBoundsTest, DescriptionsReadLikeTheProtoComments) {
  EXPECT_EQ(Closed(2, 100000).Describe(), "in [2, 100000]");
  EXPECT_EQ(LeftOpen(0, 1e8).Describe(), "in (0, 1e8]");
  EXPECT_EQ(Closed(1e-14, 0.1).Describe(), "in [1e-14, 0.1]");
  EXPECT_EQ(Open(0, 1).Describe(), "in (0, 1)");
  EXPECT_EQ((FieldBound{0, 10, true, false, true}).Describe(), "0 or in (0, 10]");
  EXPECT_FALSE(Closed(0, 1).Contains(std::numeric_limits<double>::quiet_NaN()));
}

}  // namespace
}  // namespace sgdspectra
