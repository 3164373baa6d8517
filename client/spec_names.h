// SpecField: set one field of a JobSpec by name, the way `sgdspectra sweep --set` names it.
//
// A name is either a short alias that matches a `run` flag (d, lambda, ridge, beta, alpha, k,
// hidden, c_delta, step_size, steps, t_end, test_ratio, top_r, top_r_full, ncv, tol,
// outlier_method, outlier_margin, threads; '-' and '_' are interchangeable), or the dotted path
// of any singular scalar field in proto field names or lowerCamelCase JSON names
// (`kgmm.snr`, `xor_task.ridge`, `sgd.cDelta`, `analysis.outlier_method`). Aliases that exist
// in both tasks (d, lambda, ridge) resolve to the base spec's task. The seed is not a field
// here: sweeps take it from --seeds.
//
// Values are parsed by the field's type: integers and reals (whole text, finite), booleans
// (true/false/1/0), enums (value name in any case, or its number), strings. Bounds are the
// server's to check, as for `run`.
//
// Thread-safety: free functions over caller-owned values.
#ifndef SGDSPECTRA_CLIENT_SWEEP_SPEC_FIELD_H_
#define SGDSPECTRA_CLIENT_SWEEP_SPEC_FIELD_H_

#include <string>

#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client {

// Resolves `name` against `spec` to the canonical dotted path in proto field names (e.g.
// "lambda" -> "kgmm.snr" for a k-GMM spec). False with *error naming `name` when the field
// does not exist, is repeated or a message, is the seed, or belongs to the other task.
bool ResolveSpecFieldPath(const v1::JobSpec& spec, const std::string& name, std::string* path,
                          std::string* error);

// Sets the field at canonical `path` (from ResolveSpecFieldPath) to `value`. False with
// *error "PATH: ..." when the value does not parse as the field's type.
bool SetSpecField(const std::string& path, const std::string& value, v1::JobSpec* spec,
                  std::string* error);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_SWEEP_SPEC_FIELD_H_
