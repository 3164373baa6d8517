// JobRecord: what `sgdspectra plot` knows of one job, gathered from its event stream: the
// Accepted event (resolved spec), the snapshots in order, and the Finished event, any of which
// may be missing (a job still running, a truncated file).
//
// Thread-safety: plain values and functions.
#ifndef SGDSPECTRA_CLIENT_PLOT_JOB_RECORD_H_
#define SGDSPECTRA_CLIENT_PLOT_JOB_RECORD_H_

#include <google/protobuf/util/json_util.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client::plot {

using Status = google::protobuf::util::Status;

struct JobRecord {
  std::string job_id;
  std::optional<v1::Accepted> accepted;
  std::vector<v1::Snapshot> snapshots;  // in stream order (increasing time)
  std::optional<v1::Finished> finished;
};

// Sorts the events of ONE job into a record (progress events are dropped). An error if the
// events name more than one job id, or repeat a seq (e.g. two runs concatenated).
Status CollectJob(const std::vector<v1::JobEvent>& events, JobRecord* job);

// "k-GMM d=400 k=4 lambda=20 beta=0.1" or "XOR d=250 K=4 lambda=1000 alpha=0.1"; "task ?" when
// the spec names no task.
std::string TaskDescription(const v1::JobSpec& spec);

// The first line of every figure title: "<task>, seed S, job J" (or "job J" alone when the
// Accepted event is missing).
std::string JobHeadline(const JobRecord& job);

// Name / value rows for the report: task, seed, steps, step size, schedule, analysis settings,
// final state, classifier rank, ...; only what the record holds.
std::vector<std::pair<std::string, std::string>> JobParameters(const JobRecord& job);

// "null model", "Marchenko-Pastur", "largest gap", "decoy null" (unspecified = null model).
std::string EdgeMethodName(v1::OutlierMethod method);

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_JOB_RECORD_H_
