// StoredEventLog: the events of a finished job, read from the store a page at a time for one
// watch stream, so that finished jobs hold no events in memory (the job manager drops a job's
// JobEventLog once its `finished` event is stored).
//
// The job is finished, so its events are fixed: seq 1..last_seq, the last one `finished`.
// ReadOrWait(seq) answers from the current page; otherwise it posts one page load (the events
// from seq on, at most page_size of them) through `post` and returns kWait; the load runs the
// reader's waiter. A reader follows the pages in order, so a stream holds at most one page.
// A failed load makes every later read kFailed with the store's error.
//
// Ownership: shared by the stream that follows it and its pending load. `read_page` and `post`
// must stay callable while a load can be pending (the service's manager and executor outlive
// every stream). `post` must not run the task on the calling thread while a stream can read:
// the reader calls ReadOrWait under its own lock, and the load runs its waiter, which takes
// that lock (the RequestExecutor runs tasks inline only after its Shutdown, which comes after
// the gRPC server's). Thread-safety: thread-safe; the waiter runs on the loading thread, outside
// the lock.
#ifndef SGDSPECTRA_SERVER_STORED_EVENT_LOG_H_
#define SGDSPECTRA_SERVER_STORED_EVENT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "server/event_source.h"

namespace sgdspectra::server {

class StoredEventLog : public EventSource, public std::enable_shared_from_this<StoredEventLog> {
 public:
  // Reads up to max_count events with seq >= first_seq, in seq order. May block.
  using PageReader =
      std::function<Status(int64_t first_seq, int max_count, std::vector<v1::JobEvent>* events)>;
  // Runs a task off the caller's thread (the request executor).
  using Poster = std::function<void(std::function<void()> task)>;

  static constexpr int kDefaultPageSize = 256;

  static std::shared_ptr<StoredEventLog> Create(int64_t last_seq, PageReader read_page, Poster post,
                                                int page_size = kDefaultPageSize);

  ReadResult ReadOrWait(int64_t seq, EventPtr* event, Waiter waiter) override;
  Status error() const override;

 private:
  StoredEventLog(int64_t last_seq, PageReader read_page, Poster post, int page_size);
  void LoadPage(int64_t first_seq);

  const int64_t last_seq_;
  const PageReader read_page_;
  const Poster post_;
  const int page_size_;

  mutable std::mutex mutex_;    // guards everything below
  std::vector<EventPtr> page_;  // page_[i]->seq() == page_first_ + i
  int64_t page_first_ = 1;
  bool loading_ = false;
  Waiter waiter_;
  Status error_;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_STORED_EVENT_LOG_H_
