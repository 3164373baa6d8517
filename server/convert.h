// Translation between the public proto (sgdspectra.v1) and the core's plain structs.
//
// This is the only file that knows both sides: everything else in server/ speaks either
// proto (the service, the store) or core types (the experiment run), and crosses over here.
// Pure functions over values; thread-safe.
#ifndef SGDSPECTRA_SERVER_CONVERT_H_
#define SGDSPECTRA_SERVER_CONVERT_H_

#include <cstdint>
#include <string>

#include "sgdspectra/core/cost_estimate.h"
#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/snapshot.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {

// Longest JobSpec.name accepted, in bytes (the proto's documented bound).
constexpr size_t kMaxJobNameBytes = 200;

// Builds the core spec a job runs from a request's JobSpec and validates it.
//
// Proto conventions applied: a numeric field left at 0 (or an `optional` field left unset)
// keeps the core default; analysis.threads = 0 becomes `default_threads` (the server's
// --threads). Checks the core cannot make (task set, enum values known, name length,
// analysis.threads in [0, 256]) come first, then ExperimentSpec::Validate(). On failure
// returns InvalidArgument whose message starts with the proto field path, and *spec is
// unspecified.
Status JobSpecFromProto(const v1::JobSpec& proto, int default_threads, ExperimentSpec* spec);

// The spec with every default the core resolves filled in: what the job actually runs, as
// recorded with the job. Converting it back with JobSpecFromProto gives a spec that runs
// the same numbers bit for bit. Fields whose "default" depends on per-block sizes
// (analysis.ncv = 0) or that would change the sampling if spelled out (empty class_probs and
// mean_gram, sgd.steps = 0 derived from t_end) keep their documented "default" encoding.
v1::JobSpec ResolvedJobSpecToProto(const ExperimentSpec& spec);

// The `accepted` payload: resolved spec, schedule, sizes, the build version and the job's
// cost estimate (EstimateJobCost).
v1::Accepted AcceptedFor(const ExperimentSpec& spec, const std::string& build_version);

v1::JobCostEstimate JobCostEstimateToProto(const JobCostEstimate& estimate);
// Progress.analysis of an analysis-progress event (a negative seconds_left becomes -1).
v1::AnalysisProgress AnalysisProgressToProto(const AnalysisProgress& progress);
v1::Snapshot SnapshotToProto(const Snapshot& snapshot);
v1::ClassifierRank ClassifierRankToProto(const ClassifierRank& rank);

// SUCCEEDED for OK, CANCELLED for kCancelled, FAILED for every other code.
v1::JobState TerminalStateFor(const Status& status);

// The `finished` payload of a run: terminal state from result.status, the error message
// (FAILED / CANCELLED), the classifier rank when result.has_rank, final metrics and steps.
v1::Finished FinishedFromResult(const ExperimentResult& result);

// What a run leaves for GetResult: final weights (and XOR's second layer), the means and the
// `finished` payload. `job` is left unset (the caller adds the job's current state).
v1::JobResult JobResultFromRun(const ExperimentResult& result);

// Row-major copy of a dense matrix (an empty matrix gives rows = cols = 0).
v1::Matrix MatrixToProto(const RowMatrix& matrix);

// The test sample's inputs (M x d) and labels into a JobResult.
void AddTestSampleToResult(const SampleSet& sample, v1::JobResult* result);
// Rows [first_row, first_row + num_rows) of the sample, clipped to its end.
v1::TestSampleChunk TestSampleChunkOf(const SampleSet& sample, int64_t first_row, int64_t num_rows);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_CONVERT_H_
