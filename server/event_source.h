// EventSource: what a watch stream follows, one job's events by sequence number (seq 1, 2, ...).
//
// Two kinds exist: a running job's in-memory JobEventLog (server/job_event_log.h), which grows
// until its `finished` event, and a finished job's StoredEventLog (server/stored_event_log.h),
// which pages the events in from the store. A reader asks for one seq at a time; when the event
// is not at hand the source keeps the reader's one-shot waiter and runs it once it is, so that
// readers (gRPC reactors) never block.
//
// Ownership: shared (std::shared_ptr) by whoever produces the events and every stream reading
// them. Thread-safety: implementations are thread-safe; waiters run outside their locks.
#ifndef SGDSPECTRA_SERVER_EVENT_SOURCE_H_
#define SGDSPECTRA_SERVER_EVENT_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "sgdspectra/core/status.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {

using EventPtr = std::shared_ptr<const v1::JobEvent>;

class EventSource {
 public:
  using Waiter = std::function<void()>;
  enum class ReadResult {
    kEvent,   // *event holds the requested event
    kWait,    // not at hand yet; the waiter runs (once) when it may be
    kEnd,     // the source has no event with that seq and never will (after `finished`)
    kFailed,  // the events cannot be read (see error()); the reader should end with it
  };

  virtual ~EventSource() = default;

  // Reads the event with sequence number seq >= 1, or registers `waiter` (kWait). The check
  // and the registration are atomic with respect to the source's producer.
  virtual ReadResult ReadOrWait(int64_t seq, EventPtr* event, Waiter waiter) = 0;
  // Why the source failed; OK unless ReadOrWait returned kFailed.
  virtual Status error() const { return Status::Ok(); }
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_EVENT_SOURCE_H_
