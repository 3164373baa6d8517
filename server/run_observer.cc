#include "server/run_observer.h"

#include <utility>

#include "server/convert.h"

namespace sgdspectra::server {

JobRunObserver::JobRunObserver(long steps_total, EventSink sink, StopRequested stop_requested,
                               std::chrono::steady_clock::duration min_analysis_interval,
                               ServerMetrics* metrics)
    : steps_total_(steps_total),
      sink_(std::move(sink)),
      stop_requested_(std::move(stop_requested)),
      min_analysis_interval_(min_analysis_interval),
      metrics_(metrics) {}

bool JobRunObserver::OnSnapshot(const Snapshot& snapshot) {
  if (metrics_ != nullptr) metrics_->ObserveSnapshot(snapshot);
  v1::JobEvent event;
  *event.mutable_snapshot() = SnapshotToProto(snapshot);
  return Append(std::move(event)) && !stop_requested_();
}

bool JobRunObserver::OnProgress(long steps_done, long total_steps, double steps_per_second) {
  last_steps_per_second_ = steps_per_second;
  v1::JobEvent event;
  v1::Progress* progress = event.mutable_progress();
  progress->set_steps_done(steps_done);
  progress->set_steps_total(total_steps);
  progress->set_steps_per_second(steps_per_second);
  return Append(std::move(event)) && !stop_requested_();
}

void JobRunObserver::OnAnalysisProgress(const AnalysisProgress& analysis) {
  if (!sink_error_.ok()) return;
  const auto now = std::chrono::steady_clock::now();
  if (analysis_event_kept_ && now - last_analysis_event_ < min_analysis_interval_) return;
  v1::JobEvent event;
  v1::Progress* progress = event.mutable_progress();
  progress->set_steps_done(analysis.step);
  progress->set_steps_total(steps_total_);
  progress->set_steps_per_second(last_steps_per_second_);
  *progress->mutable_analysis() = AnalysisProgressToProto(analysis);
  if (Append(std::move(event))) {
    analysis_event_kept_ = true;
    last_analysis_event_ = now;
  }
}

bool JobRunObserver::Append(v1::JobEvent event) {
  if (!sink_error_.ok()) return false;
  sink_error_ = sink_(std::move(event));
  return sink_error_.ok();
}

}  // namespace sgdspectra::server
