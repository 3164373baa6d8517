// Units of the fault paths: a finished job's stored events paged to a watcher
// (StoredEventLog), the chunk-by-chunk test sample (TestSampleCursor) against the whole-sample
// generator, and the watchdog's listener probe against a socket nobody accepts on.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <map>
#include <vector>

#include "server/spec_convert.h"
#include "server/stored_event_log.h"
#include "server/test_sample.h"
#include "server/watchdog.h"
#include "server_test_util.h"
#include "sgdspectra/core/experiment.h"
#include "sgdspectra/core/thread_pool.h"

namespace sgdspectra::server_test {
namespace {

using server::EventPtr;
using server::EventSource;
using server::StoredEventLog;

v1::JobEvent StoredEvent(int64_t seq, bool finished) {
  v1::JobEvent event;
  event.set_job_id("j-1");
  event.set_seq(seq);
  if (finished) {
    event.mutable_finished()->set_state(v1::SUCCEEDED);
    event.mutable_finished()->set_reason(v1::COMPLETED);
  } else {
    event.mutable_progress()->set_steps_done(seq * 10);
  }
  return event;
}

// A store of `count` events and a poster that queues tasks until the test runs them, so the
// test sees what runs where and when.
struct FakeStore {
  explicit FakeStore(int64_t count) {
    for (int64_t seq = 1; seq <= count; ++seq) events[seq] = StoredEvent(seq, seq == count);
  }
  Status Read(int64_t first_seq, int max_count, std::vector<v1::JobEvent>* out) {
    ++reads;
    out->clear();
    for (auto it = events.lower_bound(first_seq);
         it != events.end() && static_cast<int>(out->size()) < max_count; ++it) {
      out->push_back(it->second);
    }
    return failure;
  }
  std::map<int64_t, v1::JobEvent> events;
  Status failure;
  int reads = 0;
  std::deque<std::function<void()>> tasks;
};

std::shared_ptr<StoredEventLog> LogOver(FakeStore* store, int page_size) {
  return StoredEventLog::Create(
      static_cast<int64_t>(store->events.size()),
      [store](int64_t first, int max, std::vector<v1::JobEvent>* out) {
        return store->Read(first, max, out);
      },
      [store](std::function<void()> task) { store->tasks.push_back(std::move(task)); }, page_size);
}

// Reads seq first.. like a WatchReactor: a kWait runs the queued load, whose waiter must fire.
std::vector<int64_t> ReadAll(EventSource* log, FakeStore* store, int64_t first,
                             EventSource::ReadResult* last) {
  std::vector<int64_t> seqs;
  for (int64_t seq = first;;) {
    EventPtr event;
    bool woken = false;
    *last = log->ReadOrWait(seq, &event, [&woken] { woken = true; });
    if (*last == EventSource::ReadResult::kEvent) {
      seqs.push_back(event->seq());
      ++seq;
      continue;
    }
    if (*last != EventSource::ReadResult::kWait) return seqs;
    EXPECT_EQ(store->tasks.size(), 1u) << "one load per wait";
    if (store->tasks.empty()) return seqs;
    std::function<void()> task = std::move(store->tasks.front());
    store->tasks.pop_front();
    task();
    EXPECT_TRUE(woken) << "the load must run the reader's waiter";
  }
}

TEST(StoredEventLogTest, PagesEveryEventOnceInOrderHoldingOnePage) {
  FakeStore store(10);
  auto log = LogOver(&store, /*page_size=*/3);
  EventSource::ReadResult last;
  const std::vector<int64_t> seqs = ReadAll(log.get(), &store, 1, &last);
  EXPECT_EQ(last, EventSource::ReadResult::kEnd);
  ASSERT_EQ(seqs.size(), 10u);
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int64_t>(i) + 1);
  EXPECT_EQ(store.reads, 4);  // ceil(10 / 3): each page read once, never the whole job
}

TEST(StoredEventLogTest, StartsAfterTheWatchersSeq) {
  FakeStore store(10);
  auto log = LogOver(&store, 4);
  EventSource::ReadResult last;
  const std::vector<int64_t> seqs = ReadAll(log.get(), &store, 8, &last);
  EXPECT_EQ(seqs, (std::vector<int64_t>{8, 9, 10}));
  EXPECT_EQ(store.reads, 1);
}

TEST(StoredEventLogTest, AStoreErrorOrAMissingEventFailsTheReadInsteadOfEndingIt) {
  FakeStore failing(5);
  failing.failure = Status::Internal("store: step: disk I/O error");
  auto log = LogOver(&failing, 2);
  EventSource::ReadResult last;
  EXPECT_TRUE(ReadAll(log.get(), &failing, 1, &last).empty());
  EXPECT_EQ(last, EventSource::ReadResult::kFailed);
  EXPECT_NE(log->error().message().find("disk I/O error"), std::string::npos);

  FakeStore gap(5);
  gap.events.erase(3);
  gap.events[5] = StoredEvent(5, true);
  auto gapped = StoredEventLog::Create(
      5, [&gap](int64_t f, int m, std::vector<v1::JobEvent>* o) { return gap.Read(f, m, o); },
      [&gap](std::function<void()> task) { gap.tasks.push_back(std::move(task)); }, 2);
  const std::vector<int64_t> seqs = ReadAll(gapped.get(), &gap, 1, &last);
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(last, EventSource::ReadResult::kFailed);
  EXPECT_NE(gapped->error().message().find("event 3"), std::string::npos);
}

// The sample streamed chunk by chunk is DrawTestSample's, bit for bit, whatever the chunk
// size (aligned with the generator's 256-row blocks or not) and the task.
TEST(TestSampleCursorTest, ChunksConcatenateToTheWholeSampleBitForBit) {
  for (const v1::JobSpec& proto : {TinySpec(3), TinyXorSpec(4)}) {
    v1::JobSpec larger = proto;
    larger.mutable_analysis()->set_test_ratio(30);  // M_test = 30 d = 1200 rows: 5 blocks
    ExperimentSpec spec;
    ASSERT_TRUE(server::JobSpecFromProto(larger, 1, &spec).ok());
    GaussianMixture mixture;
    ASSERT_TRUE(BuildMixture(spec, &mixture).ok());
    ThreadPool pool(3);  // the run's own draw, several threads
    const SampleSet whole = DrawTestSample(spec, mixture, &pool);
    ASSERT_EQ(whole.inputs.rows(), 1200);

    for (int64_t chunk_rows : {1, 7, 255, 256, 257, 1000, 5000}) {
      std::unique_ptr<server::TestSampleCursor> cursor;
      ASSERT_TRUE(server::TestSampleCursor::Create(spec, &cursor).ok());
      EXPECT_EQ(cursor->total_rows(), whole.inputs.rows());
      EXPECT_EQ(cursor->cols(), whole.inputs.cols());
      RowMatrix rows;
      std::vector<int> labels;
      int64_t first = 0;
      while (!cursor->done()) {
        const int64_t count = cursor->Next(chunk_rows, &rows, &labels);
        ASSERT_GT(count, 0);
        ASSERT_LE(count, chunk_rows);
        for (int64_t r = 0; r < count; ++r) {
          for (int64_t c = 0; c < rows.cols(); ++c) {
            ASSERT_EQ(rows(r, c), whole.inputs(first + r, c))
                << "chunk " << chunk_rows << " row " << first + r << " col " << c;
          }
          ASSERT_EQ(labels[r], whole.labels[first + r]) << "row " << first + r;
        }
        first += count;
      }
      EXPECT_EQ(first, whole.inputs.rows()) << "chunk " << chunk_rows;
    }

    SampleSet regenerated;
    ASSERT_TRUE(server::RegenerateTestSample(spec, &regenerated).ok());
    EXPECT_TRUE(regenerated.inputs == whole.inputs);
    EXPECT_EQ(regenerated.labels, whole.labels);
    EXPECT_EQ(server::RegenerateTestSample(spec, &regenerated, [] { return true; }).code(),
              StatusCode::kCancelled);
  }
}

// A listening socket that nobody accept()s completes TCP handshakes in the kernel: the probe
// must still call it dead (this is what gRPC 1.51's listener looks like after EMFILE).
TEST(ListenerProbeTest, ABacklogWithoutAcceptIsNotAnAnswer) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);
  const Status dead = server::ProbeListener("0.0.0.0:0", port, std::chrono::milliseconds(300));
  EXPECT_EQ(dead.code(), StatusCode::kUnavailable);
  EXPECT_NE(dead.message().find("no answer"), std::string::npos) << dead.message();
  close(fd);

  InProcessServer live(TestDataDir());
  ASSERT_TRUE(live.ok());
  const Status ok =
      server::ProbeListener("127.0.0.1:0", live.server()->port(), std::chrono::milliseconds(5000));
  EXPECT_TRUE(ok.ok()) << ok.message();
}

}  // namespace
}  // namespace sgdspectra::server_test
