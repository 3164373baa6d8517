// SpecBuilder: the JobSpec a `run` or `submit` sends, from a JSON file and/or command-line flags.
//
// A spec starts empty (every field at the proto default, which the server resolves), or from a
// JSON file in the proto3 JSON mapping (--spec FILE; unknown fields are an error naming the
// field). Each flag that was given then overrides its field. The CLI checks only syntax (numbers
// parse, enum names exist); bounds are the server's to check, so that one place (the server's
// validation, documented in jobs.proto) decides and names the field in INVALID_ARGUMENT.
//
// The flags are the fields of JobSpec as client/spec_names.h names them (from the proto
// descriptor; help texts are the proto's comments), so a field added to the proto is a flag
// with no change here. Two tasks share the spec's `task` oneof: k-GMM (`kgmm`) and XOR
// (`xor_task`). The task is, in order: --task if given; else the --spec file's task; else XOR
// if a flag of an XOR-only field was given; else k-GMM. The shared flags (--d, --lambda,
// --ridge, ...) set the field of that task. A flag of one task's field (k-GMM: --k,
// --class-probs, --beta, ...; XOR: --hidden, --alpha, ...) given for the other task is an
// error naming the flag. --task different from the file's task replaces the file's task
// message (the oneof holds one). A flag given twice takes its last value, except a list flag
// (--class-probs 0.2,0.3 --class-probs 0.5), whose values append. --every-steps without
// --schedule also selects the EVERY_STEPS schedule.
//
// Thread-safety: plain functions over caller-owned values; no shared state.
#ifndef SGDSPECTRA_CLIENT_SPEC_BUILDER_H_
#define SGDSPECTRA_CLIENT_SPEC_BUILDER_H_

#include <google/protobuf/util/json_util.h>

#include <optional>
#include <string>
#include <vector>

#include "sgdspectra/v1/jobs.pb.h"

namespace CLI {
class App;
}  // namespace CLI

namespace sgdspectra::client {

using Status = google::protobuf::util::Status;

// The spec flags given, in command-line order. Filled by the options AddSpecOptions() adds.
struct SpecFlags {
  std::string spec_file;            // --spec: JSON in the proto3 JSON mapping; "-" = stdin
  std::optional<std::string> task;  // --task; see ParseTaskName

  struct Assignment {
    std::string flag;    // the flag's first name, for messages ("--k" for --num-classes)
    std::string target;  // SpecFieldName::target: a proto path or "@task.<field>"
    std::string value;   // as given
  };
  std::vector<Assignment> assignments;
};

// Registers --spec, --task and one option per SpecFieldNames() entry on `app`, writing into
// `*flags`; values that do not parse as the field's type are usage errors at parse time. A name
// that `app` already has is skipped for that field (its dotted path still works in JSON).
// `flags` must outlive the parse of `app`.
void AddSpecOptions(CLI::App* app, SpecFlags* flags);

// "kgmm" | "k-gmm" -> kKgmm; "xor" | "xor-task" | "xor_task" -> kXorTask (any case).
// False for anything else.
bool ParseTaskName(const std::string& text, v1::JobSpec::TaskCase* task);

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
