#include "server/job_event_log.h"

#include <atomic>
#include <cassert>
#include <utility>

namespace sgdspectra::server {
namespace {

std::atomic<int64_t> events_in_memory{0};

}  // namespace

JobEventLog::~JobEventLog() { events_in_memory.fetch_sub(static_cast<int64_t>(events_.size())); }

int64_t JobEventLog::EventsInMemory() { return events_in_memory.load(); }

void JobEventLog::Append(EventPtr event) {
  std::vector<Waiter> to_run;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    assert(!closed_);
    assert(event->seq() == static_cast<int64_t>(events_.size()) + 1);
    if (event->has_finished()) closed_ = true;
    events_.push_back(std::move(event));
    events_in_memory.fetch_add(1);
    to_run.swap(waiters_);
  }
  for (Waiter& waiter : to_run) waiter();
}

JobEventLog::ReadResult JobEventLog::ReadOrWait(int64_t seq, EventPtr* event, Waiter waiter) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (seq >= 1 && seq <= static_cast<int64_t>(events_.size())) {
    *event = events_[seq - 1];
    return ReadResult::kEvent;
  }
  if (closed_) return ReadResult::kEnd;
  waiters_.push_back(std::move(waiter));
  return ReadResult::kWait;
}

int64_t JobEventLog::last_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(events_.size());
}

bool JobEventLog::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

std::vector<EventPtr> JobEventLog::EventsAfter(int64_t after_seq) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (after_seq < 0) after_seq = 0;
  if (after_seq >= static_cast<int64_t>(events_.size())) return {};
  return std::vector<EventPtr>(events_.begin() + after_seq, events_.end());
}

EventPtr JobEventLog::LastEvent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_.empty() ? nullptr : events_.back();
}

}  // namespace sgdspectra::server
