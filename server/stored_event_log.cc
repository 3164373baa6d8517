#include "server/stored_event_log.h"

#include <utility>

namespace sgdspectra::server {

std::shared_ptr<StoredEventLog> StoredEventLog::Create(int64_t last_seq, PageReader read_page,
                                                       Poster post, int page_size) {
  return std::shared_ptr<StoredEventLog>(
      new StoredEventLog(last_seq, std::move(read_page), std::move(post), page_size));
}

StoredEventLog::StoredEventLog(int64_t last_seq, PageReader read_page, Poster post, int page_size)
    : last_seq_(last_seq),
      read_page_(std::move(read_page)),
      post_(std::move(post)),
      page_size_(page_size > 0 ? page_size : kDefaultPageSize) {}

EventSource::ReadResult StoredEventLog::ReadOrWait(int64_t seq, EventPtr* event, Waiter waiter) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_.ok()) return ReadResult::kFailed;
    if (seq < 1 || seq > last_seq_) return ReadResult::kEnd;
    const int64_t index = seq - page_first_;
    if (index >= 0 && index < static_cast<int64_t>(page_.size())) {
      *event = page_[index];
      return ReadResult::kEvent;
    }
    waiter_ = std::move(waiter);
    if (loading_) return ReadResult::kWait;
    loading_ = true;
  }
  // The reader is a gRPC reaction: the store is read on the poster's thread, never here.
  post_([self = shared_from_this(), seq] { self->LoadPage(seq); });
  return ReadResult::kWait;
}

void StoredEventLog::LoadPage(int64_t first_seq) {
  std::vector<v1::JobEvent> events;
  Status status = read_page_(first_seq, page_size_, &events);
  if (status.ok() && (events.empty() || events.front().seq() != first_seq)) {
    // The store lost an event the job had: say so rather than skip or end without `finished`.
    status =
        Status::Internal("store: event " + std::to_string(first_seq) + " of the job is missing");
  }
  std::vector<EventPtr> page;
  if (status.ok()) {
    page.reserve(events.size());
    for (v1::JobEvent& event : events) {
      if (event.seq() != first_seq + static_cast<int64_t>(page.size()))
        break;  // keep it contiguous
      page.push_back(std::make_shared<const v1::JobEvent>(std::move(event)));
    }
  }
  Waiter waiter;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    loading_ = false;
    if (status.ok()) {
      page_ = std::move(page);
      page_first_ = first_seq;
    } else {
      error_ = status;
    }
    waiter.swap(waiter_);
  }
  if (waiter) waiter();
}

Status StoredEventLog::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

}  // namespace sgdspectra::server
