#include "server/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cctype>
#include <exception>
#include <map>
#include <utility>
#include <vector>

namespace sgdspectra::server {
namespace {

// A snapshot takes milliseconds at the tiny test sizes and minutes at d = 10^4 with the full
// matrices (docs/PERFORMANCE.md); one solve is a fraction of that.
const prometheus::Histogram::BucketBoundaries kSnapshotBuckets = {
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000};
const prometheus::Histogram::BucketBoundaries kSolveBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500};

// Scrapes are rare and cheap; two threads keep one slow scraper from blocking another.
constexpr int kListenerThreads = 2;

const char* StreamKindLabel(StreamKind kind) {
  switch (kind) {
    case StreamKind::kWatch:
      return "watch";
    case StreamKind::kRun:
      return "run";
    case StreamKind::kSample:
      return "sample";
  }
  return "unknown";
}

// "IP:PORT" or "[IPv6]:PORT" with PORT in [0, 65535]: what civetweb's listening_ports takes
// for one plain-HTTP port (its other forms, SSL and redirects, are not ours to offer).
bool IsHostPort(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  if (std::stoi(port) > 65535) return false;
  if (host.front() == '[') return host.size() > 2 && host.back() == ']';
  return host.find(':') == std::string::npos;
}

}  // namespace

struct ServerMetrics::Families {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::map<v1::JobState, prometheus::Gauge*> jobs;  // every state but UNSPECIFIED
  prometheus::Gauge* queue_depth = nullptr;
  std::map<StreamKind, prometheus::Gauge*> streams;
  prometheus::Histogram* snapshot_seconds = nullptr;
  prometheus::Histogram* solve_seconds = nullptr;
  prometheus::Counter* events_written = nullptr;
  prometheus::Counter* auth_failures = nullptr;
  prometheus::Counter* store_errors = nullptr;

  Families();
};

ServerMetrics::Families::Families() {
  auto& job_family = prometheus::BuildGauge()
                         .Name("sgdspectra_jobs")
                         .Help("Jobs the server holds, by state (finished ones included)")
                         .Register(*registry);
  for (int state = v1::JobState_MIN; state <= v1::JobState_MAX; ++state) {
    if (!v1::JobState_IsValid(state) || state == v1::JOB_STATE_UNSPECIFIED) continue;
    const auto typed = static_cast<v1::JobState>(state);
    jobs[typed] = &job_family.Add({{"state", v1::JobState_Name(typed)}});
  }
  queue_depth = &prometheus::BuildGauge()
                     .Name("sgdspectra_queue_depth")
                     .Help("Jobs waiting for a worker")
                     .Register(*registry)
                     .Add({});
  auto& stream_family = prometheus::BuildGauge()
                            .Name("sgdspectra_active_streams")
                            .Help("Open server streams: WatchJob, RunJob, StreamTestSample")
                            .Register(*registry);
  for (StreamKind kind : {StreamKind::kWatch, StreamKind::kRun, StreamKind::kSample}) {
    streams[kind] = &stream_family.Add({{"kind", StreamKindLabel(kind)}});
  }
  snapshot_seconds = &prometheus::BuildHistogram()
                          .Name("sgdspectra_snapshot_seconds")
                          .Help("Wall time of each snapshot's spectral analysis")
                          .Register(*registry)
                          .Add({}, kSnapshotBuckets);
  solve_seconds = &prometheus::BuildHistogram()
                       .Name("sgdspectra_solve_seconds")
                       .Help("Wall time of each analysed block's eigen-solve")
                       .Register(*registry)
                       .Add({}, kSolveBuckets);
  events_written = &prometheus::BuildCounter()
                        .Name("sgdspectra_events_written_total")
                        .Help("Job events committed to the store")
                        .Register(*registry)
                        .Add({});
  auth_failures = &prometheus::BuildCounter()
                       .Name("sgdspectra_auth_failures_total")
                       .Help("Calls refused for missing or bad credentials")
                       .Register(*registry)
                       .Add({});
  store_errors = &prometheus::BuildCounter()
                      .Name("sgdspectra_store_errors_total")
                      .Help("Failed store (SQLite) operations")
                      .Register(*registry)
                      .Add({});
}

struct ServerMetrics::Listener {
  std::unique_ptr<prometheus::Exposer> exposer;
};

ServerMetrics::ServerMetrics() : families_(std::make_unique<Families>()) {}

// The listener goes first: its threads may be serializing the registry.
ServerMetrics::~ServerMetrics() { listener_.reset(); }

Status ServerMetrics::Listen(const std::string& host_port) {
  if (!IsHostPort(host_port)) {
    return Status::InvalidArgument("--metrics-listen: expected IP:PORT or [IPv6]:PORT, got \"" +
                                   host_port + "\"");
  }
  auto listener = std::make_unique<Listener>();
  try {
    // civetweb throws when it cannot bind (address in use, no such interface).
    listener->exposer = std::make_unique<prometheus::Exposer>(host_port, kListenerThreads);
  } catch (const std::exception& e) {
    return Status::Unavailable("--metrics-listen: cannot listen on " + host_port + ": " + e.what());
  }
  const std::vector<int> ports = listener->exposer->GetListeningPorts();
  if (ports.empty()) {
    return Status::Unavailable("--metrics-listen: cannot listen on " + host_port);
  }
  listener->exposer->RegisterCollectable(families_->registry);
  port_ = ports.front();
  listener_ = std::move(listener);
  return Status::Ok();
}

void ServerMetrics::JobStateChanged(v1::JobState from, v1::JobState to) {
  if (from == to) return;
  auto old_state = families_->jobs.find(from);
  if (old_state != families_->jobs.end()) old_state->second->Decrement();
  auto new_state = families_->jobs.find(to);
  if (new_state != families_->jobs.end()) new_state->second->Increment();
}

void ServerMetrics::SetQueueDepth(size_t waiting_jobs) {
  families_->queue_depth->Set(static_cast<double>(waiting_jobs));
}

void ServerMetrics::StreamOpened(StreamKind kind) { families_->streams.at(kind)->Increment(); }

void ServerMetrics::StreamClosed(StreamKind kind) { families_->streams.at(kind)->Decrement(); }

void ServerMetrics::ObserveSnapshot(const Snapshot& snapshot) {
  families_->snapshot_seconds->Observe(snapshot.analysis_seconds);
  for (const SpectrumReport& report : snapshot.spectra) {
    families_->solve_seconds->Observe(report.solver.seconds);
  }
}

void ServerMetrics::AddEventsWritten(int64_t events) {
  families_->events_written->Increment(static_cast<double>(events));
}

void ServerMetrics::RecordAuthFailure() { families_->auth_failures->Increment(); }

void ServerMetrics::RecordStoreError() { families_->store_errors->Increment(); }

std::string ServerMetrics::TextExposition() const {
  return prometheus::TextSerializer().Serialize(families_->registry->Collect());
}

ActiveStream::ActiveStream(ServerMetrics* metrics, StreamKind kind)
    : metrics_(metrics), kind_(kind) {
  if (metrics_ != nullptr) metrics_->StreamOpened(kind_);
}

ActiveStream::~ActiveStream() {
  if (metrics_ != nullptr) metrics_->StreamClosed(kind_);
}

ActiveStream::ActiveStream(ActiveStream&& other) noexcept
    : metrics_(std::exchange(other.metrics_, nullptr)), kind_(other.kind_) {}

ActiveStream& ActiveStream::operator=(ActiveStream&& other) noexcept {
  if (this != &other) {
    if (metrics_ != nullptr) metrics_->StreamClosed(kind_);
    metrics_ = std::exchange(other.metrics_, nullptr);
    kind_ = other.kind_;
  }
  return *this;
}

}  // namespace sgdspectra::server
