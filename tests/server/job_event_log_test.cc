// JobEventLog: ordered reads, one-shot waiters, closing, and concurrent readers.
#include "server/job_event_log.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

namespace sgdspectra::server {
namespace {

EventPtr MakeEvent(int64_t seq, bool finished = false) {
  auto event = std::make_shared<v1::JobEvent>();
  event->set_job_id("j-0000000001");
  event->set_seq(seq);
  if (finished) {
    event->mutable_finished()->set_state(v1::SUCCEEDED);
  } else {
    event->mutable_progress()->set_steps_done(seq);
  }
  return event;
}

TEST(JobEventLogTest, ReadsBySeqWaitsForTheNextAppendAndEndsAfterTheTerminalEvent) {
  JobEventLog log;
  log.Append(MakeEvent(1));
  EventPtr event;
  EXPECT_EQ(log.ReadOrWait(1, &event, [] {}), JobEventLog::ReadResult::kEvent);
  EXPECT_EQ(event->seq(), 1);

  int woken = 0;
  EXPECT_EQ(log.ReadOrWait(2, &event, [&] { ++woken; }), JobEventLog::ReadResult::kWait);
  EXPECT_EQ(woken, 0);
  log.Append(MakeEvent(2));
  EXPECT_EQ(woken, 1);
  log.Append(MakeEvent(3, /*finished=*/true));
  EXPECT_EQ(woken, 1);  // one-shot
  EXPECT_TRUE(log.closed());
  EXPECT_EQ(log.last_seq(), 3);
  EXPECT_EQ(log.ReadOrWait(3, &event, [] {}), JobEventLog::ReadResult::kEvent);
  EXPECT_TRUE(event->has_finished());
  EXPECT_EQ(log.ReadOrWait(4, &event, [&] { ++woken; }), JobEventLog::ReadResult::kEnd);
  ASSERT_EQ(log.EventsAfter(1).size(), 2u);
  EXPECT_EQ(log.EventsAfter(1)[0]->seq(), 2);
  EXPECT_TRUE(log.EventsAfter(3).empty());
  EXPECT_EQ(log.LastEvent()->seq(), 3);
}

// Readers that follow a live writer through waiters see every event exactly once, in order.
TEST(JobEventLogTest, ConcurrentFollowersSeeEveryEventOnceInOrder) {
  constexpr int64_t kEvents = 2000;
  constexpr int kReaders = 4;
  JobEventLog log;
  std::vector<std::vector<int64_t>> seen(kReaders);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&log, &seen, r] {
      std::mutex mutex;
      std::condition_variable cv;
      bool woken = false;
      for (int64_t seq = 1;;) {
        EventPtr event;
        const auto result = log.ReadOrWait(seq, &event, [&] {
          std::lock_guard<std::mutex> lock(mutex);
          woken = true;
          cv.notify_one();
        });
        if (result == JobEventLog::ReadResult::kEnd) return;
        if (result == JobEventLog::ReadResult::kWait) {
          std::unique_lock<std::mutex> lock(mutex);
          cv.wait(lock, [&] { return woken; });
          woken = false;
          continue;
        }
        seen[r].push_back(event->seq());
        ++seq;
      }
    });
  }
  for (int64_t seq = 1; seq <= kEvents; ++seq) log.Append(MakeEvent(seq, seq == kEvents));
  for (std::thread& reader : readers) reader.join();
  for (int r = 0; r < kReaders; ++r) {
    ASSERT_EQ(static_cast<int64_t>(seen[r].size()), kEvents) << "reader " << r;
    for (int64_t i = 0; i < kEvents; ++i) ASSERT_EQ(seen[r][i], i + 1);
  }
}

}  // namespace
}  // namespace sgdspectra::server
