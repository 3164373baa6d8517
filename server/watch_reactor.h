// WatchReactor: the server side of one WatchJob / RunJob stream. It follows an EventSource (a
// running job's JobEventLog, or a finished job's StoredEventLog): replays the events after
// `after_seq`, then writes live ones as they are appended, one write in flight at a time, and
// finishes OK after the terminal `finished` event (with the source's error if it fails).
//
// It never blocks: when it has caught up it leaves a waiter on the log and returns; the
// job's next append runs the waiter, which starts the next write. A watcher that stops
// reading leaves one write pending and nothing else, so the job never waits for it. Client
// cancellation or deadline ends only this stream.
//
// Ownership: reference-counted. gRPC holds it as a raw pointer until OnDone; Create() keeps a
// self reference that OnDone drops, and pending log waiters hold references, so the object
// outlives every callback that can reach it. Thread-safety: all methods are thread-safe.
#ifndef SGDSPECTRA_SERVER_WATCH_REACTOR_H_
#define SGDSPECTRA_SERVER_WATCH_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "server/event_source.h"
#include "server/metrics.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {

class WatchReactor : public grpc::ServerWriteReactor<v1::JobEvent>,
                     public std::enable_shared_from_this<WatchReactor> {
 public:
  // A reactor that writes nothing until Follow() or Fail(). Return result.get() to gRPC.
  // `stream` counts the call among the open streams until OnDone.
  static std::shared_ptr<WatchReactor> Create(ActiveStream stream = ActiveStream());

  // Starts streaming the source's events with seq > after_seq. Call at most once.
  void Follow(std::shared_ptr<EventSource> log, int64_t after_seq);
  // Ends the stream with an error status (no-op if already ending).
  void Fail(const grpc::Status& status);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  explicit WatchReactor(ActiveStream stream) : stream_(std::move(stream)) {}
  // Writes the next event, leaves a waiter, or finishes; whichever applies.
  void Pump();

  std::mutex mutex_;  // guards everything below
  std::shared_ptr<WatchReactor> self_;
  std::shared_ptr<EventSource> log_;
  int64_t next_seq_ = 1;
  EventPtr in_flight_;  // the event being written, kept alive until OnWriteDone
  bool write_in_flight_ = false;
  bool finishing_ = false;  // Finish has been (or is being) called; no more writes
  bool cancelled_ = false;
  ActiveStream stream_;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_WATCH_REACTOR_H_
