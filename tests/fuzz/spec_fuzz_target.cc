#include "spec_fuzz_target.h"

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "server/spec_convert.h"
#include "sgdspectra/core/cost_estimate.h"
#include "sgdspectra/core/spec_fields.h"

namespace sgdspectra::fuzz {
namespace {

using server::JobSpecFromProto;
using server::JobSpecFromProtoUnchecked;
using server::ResolvedJobSpecToProto;

// What the server's --threads would be; the record must not depend on it.
constexpr int kDefaultThreads = 1;
constexpr int kOtherDefaultThreads = 7;

// Prints the broken invariant (with the spec, when there is one) and aborts: a crash is how
// libFuzzer and the replay driver learn of it.
[[noreturn]] void Fail(const std::string& what, const v1::JobSpec* proto = nullptr) {
  std::fprintf(stderr, "spec fuzz invariant broken: %s\n", what.c_str());
  if (proto != nullptr) std::fprintf(stderr, "spec: %s\n", proto->ShortDebugString().c_str());
  std::abort();
}

void Check(bool holds, const std::string& what, const v1::JobSpec& proto) {
  if (!holds) Fail(what, &proto);
}

// A refusal names the field: its message starts with a row's proto path (or "task") and ": ".
bool NamesAField(const std::string& message) {
  const size_t colon = message.find(": ");
  if (colon == std::string::npos) return false;
  const std::string path = message.substr(0, colon);
  return path == "task" || FindSpecField(path) != nullptr;
}

bool SameStatus(const Status& a, const Status& b) {
  return a.code() == b.code() && a.message() == b.message();
}

bool Equal(const v1::JobSpec& a, const v1::JobSpec& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// Admission's arithmetic on a valid spec: the memory estimate, the cost model, the schedule.
void CheckEstimates(const ExperimentSpec& spec, const v1::JobSpec& proto) {
  const double bytes = spec.EstimatedBytes();
  Check(std::isfinite(bytes) && bytes > 0, "EstimatedBytes() not finite and positive", proto);
  Check(bytes <= spec.memory_budget_bytes, "a valid spec's estimate exceeds its budget", proto);
  const std::vector<long> steps = spec.SnapshotSteps();
  Check(!steps.empty() && steps.front() == 0, "SnapshotSteps() does not start at 0", proto);
  for (size_t i = 1; i < steps.size(); ++i) {
    Check(steps[i] > steps[i - 1], "SnapshotSteps() not strictly ascending", proto);
  }
  Check(steps.back() == spec.ResolvedSteps() || spec.ResolvedSteps() == 0,
        "SnapshotSteps() does not end at ResolvedSteps()", proto);
  const JobCostEstimate cost = EstimateJobCost(spec);
  Check(cost.snapshots == static_cast<int>(steps.size()), "cost snapshots != SnapshotSteps()",
        proto);
  Check(cost.solves_per_snapshot >= 0 && cost.products_per_snapshot >= 0,
        "negative solve or product count", proto);
  for (double value : {cost.flops_per_snapshot, cost.largest_solve_flops, cost.sgd_flops_per_step,
                       cost.sgd_flops, cost.total_flops, cost.analysis_seconds, cost.sgd_seconds,
                       cost.estimated_seconds, cost.peak_bytes}) {
    Check(std::isfinite(value) && value >= 0, "cost estimate not finite and non-negative", proto);
  }
}

// What a job records converts back, whatever the server's default threads, to the same record,
// and proto3 JSON (the clients' format) carries it unchanged.
void CheckRecordRoundTrip(const ExperimentSpec& spec, const v1::JobSpec& proto) {
  const v1::JobSpec record = ResolvedJobSpecToProto(spec);
  for (int threads : {kDefaultThreads, kOtherDefaultThreads}) {
    ExperimentSpec again;
    const Status status = JobSpecFromProto(record, threads, &again);
    Check(status.ok(), "the record of a valid spec does not validate: " + status.message(), proto);
    Check(Equal(ResolvedJobSpecToProto(again), record),
          "the record does not round-trip (default threads " + std::to_string(threads) + ")",
          proto);
  }
  std::string json;
  Check(google::protobuf::util::MessageToJsonString(record, &json).ok(),
        "the record does not print as JSON", proto);
  v1::JobSpec parsed;
  Check(google::protobuf::util::JsonStringToMessage(json, &parsed).ok(),
        "the record's JSON does not parse: " + json, proto);
  Check(Equal(parsed, record), "the record changes through JSON: " + json, proto);
}

}  // namespace

void CheckSpecPath(const v1::JobSpec& proto) {
  ExperimentSpec unchecked;
  const Status converted = JobSpecFromProtoUnchecked(proto, kDefaultThreads, &unchecked);
  const Status validated = converted.ok() ? unchecked.Validate() : converted;
  ExperimentSpec spec;
  const Status checked = JobSpecFromProto(proto, kDefaultThreads, &spec);
  Check(SameStatus(checked, validated),
        "JobSpecFromProto (" + checked.message() + ") != Unchecked + Validate (" +
            validated.message() + ")",
        proto);
  if (!checked.ok()) {
    Check(checked.code() == StatusCode::kInvalidArgument,
          "a spec refused with a code other than INVALID_ARGUMENT: " + checked.message(), proto);
    Check(NamesAField(checked.message()),
          "a refusal that names no JobSpec field: " + checked.message(), proto);
    return;
  }
  Check(Equal(ResolvedJobSpecToProto(spec), ResolvedJobSpecToProto(unchecked)),
        "JobSpecFromProto and JobSpecFromProtoUnchecked give different specs", proto);
  CheckEstimates(spec, proto);
  CheckRecordRoundTrip(spec, proto);
}

namespace {

// Protobuf logs every string field with invalid UTF-8 it parses: noise at fuzzing rates.
void QuietProtobufLogs() {
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
}

}  // namespace

int FuzzJobSpecJson(const uint8_t* data, size_t size) {
  QuietProtobufLogs();
  v1::JobSpec proto;
  const std::string json(reinterpret_cast<const char*>(data), size);
  if (!google::protobuf::util::JsonStringToMessage(json, &proto).ok()) return 0;
  CheckSpecPath(proto);
  return 0;
}

int FuzzSubmitJobRequest(const uint8_t* data, size_t size) {
  QuietProtobufLogs();
  v1::SubmitJobRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  CheckSpecPath(request.spec());
  return 0;
}

}  // namespace sgdspectra::fuzz
