// SpecNames: the JobSpec's fields the way the clients name them. The `run` / `submit` /
// `sweep` flags, the `sweep --set` names and their help texts all come from the proto
// descriptor (and the proto's own comments, client/proto_comments.h), plus one small table of
// short aliases; a field added to the proto gets a flag with no change here.
//
// Naming rules, in order:
//   - a field that every task of the `task` oneof has (dim, snr, ridge) is one name that sets
//     the field of the job's task: target "@task.dim", flag --dim;
//   - any other field whose name is unique in JobSpec is named by it, '_' written '-'
//     (analysis.null_tol -> --null-tol);
//   - a name used by two fields outside the tasks is named by its dotted path (--sgd.steps);
//   - short aliases: --d, --lambda, --k, --K, --beta (kgmm.ridge), --alpha (xor_task.ridge),
//     --schedule (schedule.kind).
// `--set` also takes any dotted path in proto or JSON (lowerCamelCase) spelling; '-' and '_'
// are interchangeable everywhere. The seed is not a `--set` field: sweeps take it from --seeds.
//
// Values are parsed by the field's type: integers and reals (whole text, finite), booleans
// (true/false/1/0), enums (value name in any case, '-' for '_', its number, or a short alias:
// null, mp, gap, decoy, log, every), strings, and lists of reals (comma-separated). Bounds
// are the server's to check.
//
// Thread-safety: the name table is built once (thread-safe static) and immutable; the
// functions work on caller-owned values.
#ifndef SGDSPECTRA_CLIENT_SPEC_NAMES_H_
#define SGDSPECTRA_CLIENT_SPEC_NAMES_H_

#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client {

// One settable JobSpec field (or, for "@task", one field of whichever task the job has).
struct SpecFieldName {
  std::string target;              // proto path ("analysis.null_tol") or "@task.<field>"
  std::vector<std::string> names;  // flag names without "--"; errors use the first
  std::string group;               // help group ("Analysis", "Both tasks", ...)
  std::string help;                // "path: the proto's comment" (+ enum values)
  const google::protobuf::FieldDescriptor* field;  // for "@task", the first task's
};

// Every field of JobSpec except the task oneof itself, in proto order.
const std::vector<SpecFieldName>& SpecFieldNames();

// The member of the task oneof that `target` lies in ("kgmm", "xor_task"), or "" for a field
// outside the tasks and for "@task" targets.
std::string TaskOfTarget(const std::string& target);

// `target` with "@task" replaced by `task_field` ("kgmm" or "xor_task").
std::string TargetPath(const std::string& target, const std::string& task_field);

// Resolves `name` against `spec` to the canonical dotted path in proto field names (e.g.
// "lambda" -> "kgmm.snr" for a k-GMM spec). False with *error naming `name` when the field
// does not exist, is repeated or a message, is the seed, or belongs to the other task.
bool ResolveSpecFieldPath(const v1::JobSpec& spec, const std::string& name, std::string* path,
                          std::string* error);

// Sets the field at canonical `path` to `value` (a list field: comma-separated values that
// replace the list). False with *error "PATH: ..." when the value does not parse as the
// field's type.
bool SetSpecField(const std::string& path, const std::string& value, v1::JobSpec* spec,
                  std::string* error);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_SPEC_NAMES_H_
