// JobEventLog: the in-memory, append-only sequence of one job's events (seq 1, 2, ...).
//
// One writer appends (the job manager, after the event is persisted); any number of readers
// (watch streams) read by sequence number and, when they have caught up, leave a one-shot
// waiter that the next append runs. Readers never block the writer: a waiter is a cheap
// callback that schedules a write on its stream and returns. The `finished` event closes the
// log; nothing can be appended after it.
//
// Memory: only jobs that have not finished keep their log in the job manager; once the
// `finished` event is stored the manager drops it, and the log lives on only while streams that
// were following it still read it (a later watcher pages the events in from the store:
// server/stored_event_log.h). EventsInMemory() counts the events all logs hold.
//
// Ownership: shared (std::shared_ptr) by the job manager and every open watch stream. Events
// are immutable once appended and shared by pointer. Thread-safety: all methods are
// thread-safe; waiters run on the appending thread, outside the log's lock.
#ifndef SGDSPECTRA_SERVER_JOB_EVENT_LOG_H_
#define SGDSPECTRA_SERVER_JOB_EVENT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "server/event_source.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::server {

class JobEventLog : public EventSource {
 public:
  // ReadOrWait: kEvent, kWait (the waiter runs on the next append), or kEnd once closed.
  JobEventLog() = default;
  ~JobEventLog() override;
  JobEventLog(const JobEventLog&) = delete;
  JobEventLog& operator=(const JobEventLog&) = delete;

  // Appends the next event. Requires event->seq() == last_seq() + 1 and an open log (the
  // caller serialises appends); a `finished` event closes the log. Then runs, outside the
  // lock, every waiter registered since the previous append.
  void Append(EventPtr event);

  // Reads the event with sequence number seq >= 1. If it is not there yet and the log is
  // open, registers `waiter` and returns kWait; the check and the registration are atomic
  // with respect to Append, so no event can slip between them.
  ReadResult ReadOrWait(int64_t seq, EventPtr* event, Waiter waiter) override;

  int64_t last_seq() const;
  bool closed() const;
  // A copy of the events with seq > after_seq (tests and GetResult use it).
  std::vector<EventPtr> EventsAfter(int64_t after_seq) const;
  // The last event, or nullptr when empty.
  EventPtr LastEvent() const;

  // Events held by every JobEventLog of the process (appended and not yet destroyed).
  static int64_t EventsInMemory();

 private:
  mutable std::mutex mutex_;
  std::vector<EventPtr> events_;  // events_[i]->seq() == i + 1
  bool closed_ = false;
  std::vector<Waiter> waiters_;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_JOB_EVENT_LOG_H_
