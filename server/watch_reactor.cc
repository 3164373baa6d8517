#include "server/watch_reactor.h"

#include <utility>

#include "server/status_map.h"

namespace sgdspectra::server {

// The protocol that keeps StartWrite and Finish legal without holding our lock while calling
// into gRPC: decisions are taken under mutex_, calls are made after releasing it.
// - StartWrite only when !finishing_ and no write is in flight (write_in_flight_ set first).
// - Finish only when no write is in flight (finishing_ set first); a cancel that arrives
//   during a write is handled by OnWriteDone.

std::shared_ptr<WatchReactor> WatchReactor::Create(ActiveStream stream) {
  std::shared_ptr<WatchReactor> reactor(new WatchReactor(std::move(stream)));
  reactor->self_ = reactor;
  return reactor;
}

void WatchReactor::Follow(std::shared_ptr<EventSource> log, int64_t after_seq) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    log_ = std::move(log);
    next_seq_ = after_seq + 1;
  }
  Pump();
}

void WatchReactor::Fail(const grpc::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finishing_ || write_in_flight_) return;
    finishing_ = true;
  }
  Finish(status);
}

void WatchReactor::Pump() {
  EventPtr event;
  grpc::Status finish_status;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finishing_ || write_in_flight_ || log_ == nullptr) return;
    if (cancelled_) {
      finishing_ = true;
      finish_status = grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled");
    } else {
      switch (log_->ReadOrWait(next_seq_, &event, [self = shared_from_this()] { self->Pump(); })) {
        case EventSource::ReadResult::kEvent:
          write_in_flight_ = true;
          in_flight_ = event;
          break;
        case EventSource::ReadResult::kWait:
          return;
        case EventSource::ReadResult::kEnd:
          // Everything up to the terminal event has been written.
          finishing_ = true;
          finish_status = grpc::Status::OK;
          break;
        case EventSource::ReadResult::kFailed:
          // The stored events cannot be read: an error status, never a silent end.
          finishing_ = true;
          finish_status = ToGrpcStatus(log_->error());
          break;
      }
    }
  }
  if (event != nullptr) {
    StartWrite(event.get());
  } else {
    Finish(finish_status);
  }
}

void WatchReactor::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    write_in_flight_ = false;
    in_flight_.reset();
    if (ok) {
      ++next_seq_;
    } else {
      // The stream is broken (client gone, deadline, server shutdown): stop writing.
      cancelled_ = true;
    }
  }
  Pump();
}

void WatchReactor::OnCancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    if (write_in_flight_ || finishing_) return;  // OnWriteDone (or the Finish) takes over
    finishing_ = true;
  }
  Finish(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
}

void WatchReactor::OnDone() {
  std::shared_ptr<WatchReactor> self;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    self.swap(self_);
    log_.reset();              // pending waiters may still hold us; they find finishing_ set
    stream_ = ActiveStream();  // the call is over, whoever still holds this object
  }
  // `self` may be the last reference: nothing touches members after this point.
}

}  // namespace sgdspectra::server
