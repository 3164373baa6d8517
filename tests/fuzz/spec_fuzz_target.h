// Fuzz targets over the job-spec path: the bytes a client can send become a JobSpec, which
// server/spec_convert.h converts and ExperimentSpec::Validate() checks, and a valid spec is
// what a job records (ResolvedJobSpecToProto) and what admission costs (EstimatedBytes,
// EstimateJobCost, SnapshotSteps).
//
// Each target returns 0 for every input. A broken invariant prints what broke to stderr and
// aborts, which libFuzzer reports as a crash and the replay driver (spec_fuzz_replay.cc) as a
// failed test. The invariants (CheckSpecPath):
//   - conversion fails only with INVALID_ARGUMENT (INTERNAL would mean the field table and
//     the proto disagree), and JobSpecFromProto == JobSpecFromProtoUnchecked + Validate();
//   - every refusal starts with a JobSpec field path from the field table (or "task"), so the
//     message names the field;
//   - a valid spec: the memory estimate is finite, positive and within the budget; the cost
//     estimate is finite and non-negative; the snapshot steps run 0 < ... < ResolvedSteps();
//   - a valid spec's record (ResolvedJobSpecToProto) converts again, under any
//     default_threads, to a spec that validates and records to the same message, and survives
//     proto3 JSON both ways unchanged.
// No crash, no undefined behaviour (the fuzz build runs under ASan + UBSan).
//
// Thread-safety: plain functions; libFuzzer calls them from one thread.
#ifndef SGDSPECTRA_TESTS_FUZZ_SPEC_FUZZ_TARGET_H_
#define SGDSPECTRA_TESTS_FUZZ_SPEC_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>

#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::fuzz {

// Bytes as proto3 JSON (protobuf's JsonStringToMessage) -> JobSpec -> CheckSpecPath.
int FuzzJobSpecJson(const uint8_t* data, size_t size);
// Bytes as a serialized SubmitJobRequest (ParseFromArray) -> its spec -> CheckSpecPath.
int FuzzSubmitJobRequest(const uint8_t* data, size_t size);

// The invariants above for one JobSpec; aborts on the first that fails.
void CheckSpecPath(const v1::JobSpec& proto);

}  // namespace sgdspectra::fuzz

#endif  // SGDSPECTRA_TESTS_FUZZ_SPEC_FUZZ_TARGET_H_
