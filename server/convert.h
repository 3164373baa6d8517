// Translation between the public proto (sgdspectra.v1) and the core's plain structs.
//
// With spec_convert.h (the JobSpec half), the one place where a core struct and its proto
// message are copied into each other: cost estimates, snapshots, ranks, a run's result and
// test samples here. Other server files hold both kinds of type but call these functions
// rather than copy fields: the job manager (turns a proto spec into an ExperimentSpec, runs
// it, records proto events), the run observer (core callbacks -> events) and the service
// (regenerates a job's test sample from its recorded spec). The store and the event log know
// only proto, test_sample only core; every file may use the core's Status.
// Pure functions over values; thread-safe.
#ifndef SGDSPECTRA_SERVER_CONVERT_H_
#define SGDSPECTRA_SERVER_CONVERT_H_

#include <cstdint>
#include <string>

#include "server/spec_convert.h"  // the JobSpec half of the translation
#include "sgdspectra/core/cost_estimate.h"
#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/gaussian_mixture.h"
#include "sgdspectra/core/snapshot.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {

// The `accepted` payload: resolved spec, schedule, sizes, the build version and the job's
// cost estimate (EstimateJobCost).
v1::Accepted AcceptedFor(const ExperimentSpec& spec, const std::string& build_version);

v1::JobCostEstimate JobCostEstimateToProto(const JobCostEstimate& estimate);
// Progress.analysis of an analysis-progress event (a negative seconds_left becomes -1).
v1::AnalysisProgress AnalysisProgressToProto(const AnalysisProgress& progress);
v1::Snapshot SnapshotToProto(const Snapshot& snapshot);
v1::ClassifierRank ClassifierRankToProto(const ClassifierRank& rank);
void TheoryPointToProto(const TheoryPoint& point, v1::TheoryPoint* proto);
v1::TheoryLimit TheoryLimitToProto(const TheoryTrack& track);

// SUCCEEDED for OK, CANCELLED for kCancelled, FAILED for every other code.
v1::JobState TerminalStateFor(const Status& status);

// The `finished` payload of a run that ended for `reason`: terminal state from result.status,
// the reason as given (the caller knows what the status cannot tell: who cancelled the run,
// whether the store failed), the error message (FAILED / CANCELLED), the classifier rank when
// result.has_rank, final metrics and steps.
v1::Finished FinishedFromResult(const ExperimentResult& result, v1::FinishReason reason);

// What a run leaves for GetResult: final weights (and XOR's second layer), the means and the
// `finished` payload (FinishedFromResult). `job` is left unset (the caller adds the job's
// current state).
v1::JobResult JobResultFromRun(const ExperimentResult& result, v1::FinishReason reason);

// Row-major copy of a dense matrix (an empty matrix gives rows = cols = 0).
v1::Matrix MatrixToProto(const RowMatrix& matrix);

// The test sample's inputs (M x d) and labels into a JobResult.
void AddTestSampleToResult(const SampleSet& sample, v1::JobResult* result);
// Rows [first_row, first_row + num_rows) of the sample, clipped to its end.
v1::TestSampleChunk TestSampleChunkOf(const SampleSet& sample, int64_t first_row, int64_t num_rows);
// A chunk produced on its own: `inputs` and `labels` are rows [first_row, first_row +
// inputs.rows()) of a sample of total_rows rows.
v1::TestSampleChunk TestSampleChunkOfRows(int64_t first_row, int64_t total_rows,
                                          const RowMatrix& inputs, const std::vector<int>& labels);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_CONVERT_H_
