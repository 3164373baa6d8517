// ServerMetrics: the server's Prometheus metrics (prometheus-cpp), and the optional HTTP
// listener (--metrics-listen) that serves them at GET /metrics in the text exposition format.
//
// The metrics (documented for operators in docs/DEPLOY.md, "Metrics"):
//   sgdspectra_jobs{state}                 gauge: jobs the server holds in each JobState
//                                          (finished and recovered ones included)
//   sgdspectra_queue_depth                 gauge: jobs waiting for a worker
//   sgdspectra_active_streams{kind}        gauge: open WatchJob / RunJob / StreamTestSample
//                                          calls (kind = watch, run, sample)
//   sgdspectra_snapshot_seconds            histogram: wall time of each snapshot's analysis
//                                          (Snapshot::analysis_seconds, measured by the core)
//   sgdspectra_solve_seconds               histogram: each analysed block's eigen-solve as the
//                                          snapshot reports it (SolverStats::seconds; blocks
//                                          solved together in one lockstep family each report
//                                          the family's wall time)
//   sgdspectra_events_written_total        counter: job events committed to the store
//   sgdspectra_auth_failures_total         counter: calls refused for bad credentials
//   sgdspectra_store_errors_total          counter: failed store operations
//
// The other parts of the server call the small methods below; no prometheus type appears in
// this header. Components that take a ServerMetrics* accept null (nothing is counted).
//
// Ownership: owns the registry and, after Listen(), the HTTP server (civetweb threads that
// only read the registry, never the job manager), which stops in the destructor.
// Thread-safety: every method is thread-safe except Listen(), which is called once, before the
// object is shared.
#ifndef SGDSPECTRA_SERVER_METRICS_H_
#define SGDSPECTRA_SERVER_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "sgdspectra/core/snapshot.h"
#include "sgdspectra/core/status.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {

enum class StreamKind { kWatch = 0, kRun = 1, kSample = 2 };

class ServerMetrics {
 public:
  ServerMetrics();
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // Serves GET /metrics on host_port ("IP:PORT" with a numeric IPv4 address, or
  // "[IPv6]:PORT"; port 0 picks a free port, see port()). kInvalidArgument naming
  // --metrics-listen for a malformed address, kUnavailable when it cannot be bound.
  Status Listen(const std::string& host_port);
  // The bound port after a successful Listen(); 0 before.
  int port() const { return port_; }

  // A job moved from `from` to `to`; from = JOB_STATE_UNSPECIFIED for a job the server had
  // not counted yet (a new one, or one loaded from the store).
  void JobStateChanged(v1::JobState from, v1::JobState to);
  void SetQueueDepth(size_t waiting_jobs);
  void StreamOpened(StreamKind kind);
  void StreamClosed(StreamKind kind);
  // The snapshot's analysis time and each of its blocks' solve times.
  void ObserveSnapshot(const Snapshot& snapshot);
  void AddEventsWritten(int64_t events);
  void RecordAuthFailure();
  void RecordStoreError();

  // The current values in the text exposition format (what GET /metrics returns).
  std::string TextExposition() const;

 private:
  struct Families;  // the registry and its metric families (prometheus types)
  struct Listener;  // the HTTP exposer
  std::unique_ptr<Families> families_;
  std::unique_ptr<Listener> listener_;
  int port_ = 0;
};

// Counts one open stream for as long as it lives: StreamOpened on construction, StreamClosed
// on destruction. Move-only; a default-constructed or moved-from one counts nothing, and so
// does one given a null ServerMetrics.
class ActiveStream {
 public:
  ActiveStream() = default;
  ActiveStream(ServerMetrics* metrics, StreamKind kind);
  ~ActiveStream();
  ActiveStream(ActiveStream&& other) noexcept;
  ActiveStream& operator=(ActiveStream&& other) noexcept;
  ActiveStream(const ActiveStream&) = delete;
  ActiveStream& operator=(const ActiveStream&) = delete;

 private:
  ServerMetrics* metrics_ = nullptr;
  StreamKind kind_ = StreamKind::kWatch;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_METRICS_H_
