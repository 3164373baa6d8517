// JobRunObserver: turns one run's core callbacks (snapshots, SGD progress, analysis progress)
// into JobEvents and hands each to a sink; the job manager's sink persists and publishes it
// (JobManager::AppendEventLocked).
//
// Errors as values: the first sink failure is kept (sink_error()); from then on no event is
// handed over and the next OnSnapshot / OnProgress returns false, which stops the run (a job
// whose events cannot be kept fails). Stopping is also how a cancel reaches the run between
// polls: stop_requested() is asked after each append.
//
// Analysis progress (Progress with `analysis` set) is best effort: OnAnalysisProgress cannot
// stop the run, drops the event after a sink failure, and drops events that come less than
// min_analysis_interval after the previous one it kept (the core already reports at most
// about every 5 seconds; this guards the store against a faster caller). Its steps fields
// carry the snapshot's step, the run's total and the last SGD rate, so clients that know only
// SGD progress still read it right.
//
// Thread-safety: the callbacks may come from several of the run's threads but never at once
// (the ExperimentObserver contract), which is all this class needs. The sink is called on the
// callback's thread.
#ifndef SGDSPECTRA_SERVER_RUN_OBSERVER_H_
#define SGDSPECTRA_SERVER_RUN_OBSERVER_H_

#include <chrono>
#include <functional>

#include "server/metrics.h"
#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {

// A second analysis-progress event within this interval of the previous one is dropped.
constexpr std::chrono::milliseconds kMinAnalysisProgressInterval{500};

class JobRunObserver : public ExperimentObserver {
 public:
  // Records one event (job_id, seq and unix_ms are the sink's to set).
  using EventSink = std::function<Status(v1::JobEvent event)>;
  // True when the run should stop (a cancel was requested).
  using StopRequested = std::function<bool()>;

  // Each snapshot's timings are observed in `metrics` (borrowed; null counts nothing).
  JobRunObserver(
      long steps_total, EventSink sink, StopRequested stop_requested,
      std::chrono::steady_clock::duration min_analysis_interval = kMinAnalysisProgressInterval,
      ServerMetrics* metrics = nullptr);

  bool OnSnapshot(const Snapshot& snapshot) override;
  bool OnProgress(long steps_done, long total_steps, double steps_per_second) override;
  void OnAnalysisProgress(const AnalysisProgress& progress) override;

  // The first sink failure; OK while every event was recorded.
  const Status& sink_error() const { return sink_error_; }

 private:
  // Hands the event to the sink unless an earlier append failed; true if it was recorded.
  bool Append(v1::JobEvent event);

  const long steps_total_;
  const EventSink sink_;
  const StopRequested stop_requested_;
  const std::chrono::steady_clock::duration min_analysis_interval_;
  ServerMetrics* const metrics_;
  Status sink_error_;
  double last_steps_per_second_ = 0;
  bool analysis_event_kept_ = false;
  std::chrono::steady_clock::time_point last_analysis_event_;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_RUN_OBSERVER_H_
