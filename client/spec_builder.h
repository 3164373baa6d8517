// SpecBuilder: the JobSpec a `run` or `submit` sends, from a JSON file and/or command-line flags.
//
// A spec starts empty (every field at the proto default, which the server resolves), or from a
// JSON file in the proto3 JSON mapping (--spec FILE; unknown fields are an error naming the
// field). Each flag that was given then overrides its field. The CLI checks only syntax (numbers
// parse, enum names exist); bounds are the server's to check, so that one place (the server's
// validation, documented in jobs.proto) decides and names the field in INVALID_ARGUMENT.
//
// Two tasks share the spec's `task` oneof: k-GMM (`kgmm`) and XOR (`xor_task`). The task is, in
// order: --task if given; else the --spec file's task; else XOR if an XOR-only flag was given;
// else k-GMM. The shared flags (--d, --lambda, --ridge) set the field of that task. A flag
// valid for only one task (k-GMM: --k, --class-probs, --beta; XOR: --hidden, --alpha,
// --second-layer-margin, --decoy-draws) given for the other task is an error naming the flag.
// --task different from the file's task replaces the file's task message (the oneof holds one).
//
// Thread-safety: plain functions over caller-owned values; no shared state.
#ifndef SGDSPECTRA_CLIENT_SPEC_BUILDER_H_
#define SGDSPECTRA_CLIENT_SPEC_BUILDER_H_

#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sgdspectra/v1/jobs.pb.h"

namespace CLI {
class App;
}  // namespace CLI

namespace sgdspectra::client {

using Status = google::protobuf::util::Status;

// One member per spec flag; std::nullopt / empty = the flag was not given (the field keeps the
// file's value, or the proto default). Flag names are in AddSpecOptions().
struct SpecFlags {
  std::string spec_file;  // --spec: JSON file in the proto3 JSON mapping; "-" = stdin

  std::optional<std::string> name;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> task;  // see ParseTaskName
  std::optional<std::int64_t> progress_every_steps;
  std::optional<double> memory_budget_bytes;

  // Shared by both tasks: kgmm.* or xor_task.*, by the job's task.
  std::optional<std::int64_t> dim;
  std::optional<double> snr;
  // --ridge (either task), --beta (k-GMM only) or --alpha (XOR only); the last one given wins.
  std::optional<double> ridge;
  std::set<std::string> ridge_flags;  // the names of those given: "--ridge", "--beta", "--alpha"

  // KgmmTask only
  std::optional<std::int32_t> num_classes;
  std::vector<double> class_probs;  // empty = not given

  // XorTask only
  std::optional<std::int32_t> hidden;
  std::optional<double> second_layer_margin;
  std::optional<std::int32_t> decoy_draws;

  // SgdSettings
  std::optional<double> c_delta;
  std::optional<double> step_size;
  std::optional<std::int64_t> steps;
  std::optional<double> t_end;

  // Schedule. --every-steps alone implies the EVERY_STEPS kind.
  std::optional<std::string> schedule;  // see ParseScheduleKind
  std::optional<std::int64_t> every_steps;
  std::optional<std::int32_t> num_points;
  std::optional<double> t_first;

  // AnalysisSettings
  std::optional<double> test_ratio;
  std::optional<std::int32_t> top_r;
  std::optional<std::int32_t> top_r_full;
  std::optional<bool> class_blocks;
  std::optional<bool> full_matrices;
  std::optional<bool> g_matrix;
  std::optional<std::int32_t> ncv;
  std::optional<double> tol;
  std::optional<std::int32_t> max_restarts;
  std::optional<std::string> outlier_method;  // see ParseOutlierMethod
  std::optional<double> outlier_margin;
  std::optional<double> gap_ratio;
  std::optional<double> rank_tolerance;
  std::optional<std::int32_t> threads;
  std::optional<std::string> solve_target;  // see ParseSolveTarget
  std::optional<std::int32_t> certify_below;
  std::optional<double> null_tol;
  std::optional<std::int32_t> random_stream_version;
};

// Registers --spec and one option per SpecFlags member on `app`, writing into `*flags`.
// `flags` must outlive the parse of `app`.
void AddSpecOptions(CLI::App* app, SpecFlags* flags);

// "kgmm" | "k-gmm" -> kKgmm; "xor" | "xor-task" | "xor_task" -> kXorTask (any case).
// False for anything else.
bool ParseTaskName(const std::string& text, v1::JobSpec::TaskCase* task);

// "log" | "log-spaced" | "LOG_SPACED_TIME" and "every" | "every-steps" | "EVERY_STEPS"
// (any case). False for anything else.
bool ParseScheduleKind(const std::string& text, v1::Schedule::Kind* kind);

// "null" | "null-model" | "NULL_MODEL", "mp" | "marchenko-pastur" | "MARCHENKO_PASTUR",
// "gap" | "largest-gap" | "LARGEST_GAP", "decoy" | "decoy-null" | "DECOY_NULL" (any case).
bool ParseOutlierMethod(const std::string& text, v1::OutlierMethod* method);
// "outliers" | "top_r" (also "top-r"); case-insensitive.
bool ParseSolveTarget(const std::string& text, v1::SolveTarget* target);

// Parses `json` (proto3 JSON mapping, either field-name style) into `*spec`, replacing it.
// INVALID_ARGUMENT naming the field for unknown fields or wrong types.
Status ParseSpecJson(const std::string& json, v1::JobSpec* spec);

// Reads and parses the file at `path` ("-" = stdin); errors start with the path.
Status ReadSpecFile(const std::string& path, v1::JobSpec* spec);

// Overwrites the fields of `*spec` whose flag was given, after choosing the task (see the top
// of this file). INVALID_ARGUMENT naming the flag for a flag of the other task.
Status ApplySpecFlags(const SpecFlags& flags, v1::JobSpec* spec);

// The spec to send: the file (if any), then the flags. With neither a task in the file nor a
// task flag, the k-GMM task, so a bare `sgdspectra run` runs the default k-GMM job.
Status BuildJobSpec(const SpecFlags& flags, v1::JobSpec* spec);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_SPEC_BUILDER_H_
