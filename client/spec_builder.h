// SpecBuilder: the JobSpec a `run` or `submit` sends, from a JSON file and/or command-line flags.
//
// A spec starts empty (every field at the proto default, which the server resolves), or from a
// JSON file in the proto3 JSON mapping (--spec FILE; unknown fields are an error naming the
// field). Each flag that was given then overrides its field. The CLI checks only syntax (numbers
// parse, enum names exist); bounds are the server's to check, so that one place (the server's
// validation, documented in jobs.proto) decides and names the field in INVALID_ARGUMENT.
//
// Thread-safety: plain functions over caller-owned values; no shared state.
#ifndef SGDSPECTRA_CLIENT_SPEC_BUILDER_H_
#define SGDSPECTRA_CLIENT_SPEC_BUILDER_H_

#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <optional>
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
  std::optional<std::string> task;  // "kgmm" (the only task of v1)
  std::optional<std::int64_t> progress_every_steps;
  std::optional<double> memory_budget_bytes;

  // KgmmTask
  std::optional<std::int64_t> dim;
  std::optional<std::int32_t> num_classes;
  std::optional<double> snr;
  std::optional<double> ridge;
  std::vector<double> class_probs;  // empty = not given

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
};

// Registers --spec and one option per SpecFlags member on `app`, writing into `*flags`.
// `flags` must outlive the parse of `app`.
void AddSpecOptions(CLI::App* app, SpecFlags* flags);

// "log" | "log-spaced" | "LOG_SPACED_TIME" and "every" | "every-steps" | "EVERY_STEPS"
// (any case). False for anything else.
bool ParseScheduleKind(const std::string& text, v1::Schedule::Kind* kind);

// "null" | "null-model" | "NULL_MODEL", "mp" | "marchenko-pastur" | "MARCHENKO_PASTUR",
// "gap" | "largest-gap" | "LARGEST_GAP", "decoy" | "decoy-null" | "DECOY_NULL" (any case).
bool ParseOutlierMethod(const std::string& text, v1::OutlierMethod* method);

// Parses `json` (proto3 JSON mapping, either field-name style) into `*spec`, replacing it.
// INVALID_ARGUMENT naming the field for unknown fields or wrong types.
Status ParseSpecJson(const std::string& json, v1::JobSpec* spec);

// Reads and parses the file at `path` ("-" = stdin); errors start with the path.
Status ReadSpecFile(const std::string& path, v1::JobSpec* spec);

// Overwrites the fields of `*spec` whose flag was given.
Status ApplySpecFlags(const SpecFlags& flags, v1::JobSpec* spec);

// The spec to send: the file (if any), then the flags, then the k-GMM task if no task was
// chosen (k-GMM is the only task of v1, so a bare `sgdspectra run` runs the default job).
Status BuildJobSpec(const SpecFlags& flags, v1::JobSpec* spec);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_SPEC_BUILDER_H_
