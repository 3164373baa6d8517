// JobSpec (proto) <-> ExperimentSpec (core), both directions driven by core's field table
// (core/include/sgdspectra/core/spec_fields.h) through protobuf reflection: this file lists
// no field. A field of the proto without a row in the table, or the other way round, fails
// tests/server/spec_convert_test.cc, which also round-trips every row.
//
// Thread-safety: plain functions; the table and descriptors are immutable.
#ifndef SGDSPECTRA_SERVER_SPEC_CONVERT_H_
#define SGDSPECTRA_SERVER_SPEC_CONVERT_H_

#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {

// Fills *spec from `proto`: each row's presence rule (0 or unset keeps the core default),
// enums by value name, the task from the oneof, analysis.threads = 0 -> default_threads.
// Does not validate; INVALID_ARGUMENT naming the field for what only the proto can get wrong
// (no task, an enum number the proto does not define).
Status JobSpecFromProtoUnchecked(const v1::JobSpec& proto, int default_threads,
                                 ExperimentSpec* spec);

// JobSpecFromProtoUnchecked, then ExperimentSpec::Validate(). *spec is untouched on error.
Status JobSpecFromProto(const v1::JobSpec& proto, int default_threads, ExperimentSpec* spec);

// The spec as it runs (ExperimentSpec::Resolved()), every field of its task written
// explicitly: what a job records, and resubmitted it runs the same job.
v1::JobSpec ResolvedJobSpecToProto(const ExperimentSpec& spec);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_SPEC_CONVERT_H_
