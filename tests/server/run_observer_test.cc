// The run observer: core callbacks -> JobEvents for the job's log, with fake analysis progress
// (no core run reports it in these tests) and a fake sink in place of the store.
#include "server/run_observer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace sgdspectra::server_test {
namespace {

namespace v1 = ::sgdspectra::v1;
using server::JobRunObserver;

constexpr long kStepsTotal = 8000;
constexpr auto kNoThrottle = std::chrono::steady_clock::duration::zero();
constexpr auto kLongThrottle = std::chrono::hours(1);

AnalysisProgress FakeProgress(int solves_done) {
  AnalysisProgress progress;
  progress.snapshot_index = 3;
  progress.step = 4500;
  progress.solves_done = solves_done;
  progress.solves_total = 44;
  progress.products_done = 100L * solves_done;
  progress.seconds_elapsed = 1.5 * solves_done;
  progress.seconds_left = solves_done == 0 ? -1 : 40;
  progress.stage = "full H";
  return progress;
}

// Records what the observer hands over; fails from the `fail_from`-th append on (0-based).
struct FakeSink {
  std::vector<v1::JobEvent> events;
  int calls = 0;
  int fail_from = -1;
  bool stop = false;

  JobRunObserver Observer(std::chrono::steady_clock::duration interval = kNoThrottle) {
    return JobRunObserver(
        kStepsTotal,
        [this](v1::JobEvent event) {
          if (fail_from >= 0 && calls++ >= fail_from) return Status::Internal("disk full");
          events.push_back(std::move(event));
          return Status::Ok();
        },
        [this] { return stop; }, interval);
  }
};

TEST(RunObserverTest, AnalysisProgressBecomesAProgressEventOldClientsCanRead) {
  FakeSink sink;
  JobRunObserver observer = sink.Observer();
  ASSERT_TRUE(observer.OnProgress(4500, kStepsTotal, 812.5));
  observer.OnAnalysisProgress(FakeProgress(5));
  ASSERT_EQ(sink.events.size(), 2u);

  const v1::JobEvent& sgd = sink.events[0];
  ASSERT_TRUE(sgd.has_progress());
  EXPECT_FALSE(sgd.progress().has_analysis());  // set only on analysis-progress events

  const v1::JobEvent& event = sink.events[1];
  ASSERT_TRUE(event.has_progress());
  const v1::Progress& progress = event.progress();
  EXPECT_EQ(progress.steps_done(), 4500);  // the snapshot's step
  EXPECT_EQ(progress.steps_total(), kStepsTotal);
  EXPECT_EQ(progress.steps_per_second(), 812.5);  // the last SGD rate
  ASSERT_TRUE(progress.has_analysis());
  const v1::AnalysisProgress& analysis = progress.analysis();
  EXPECT_EQ(analysis.snapshot_index(), 3);
  EXPECT_EQ(analysis.step(), 4500);
  EXPECT_EQ(analysis.solves_done(), 5);
  EXPECT_EQ(analysis.solves_total(), 44);
  EXPECT_EQ(analysis.products_done(), 500);
  EXPECT_EQ(analysis.seconds_elapsed(), 7.5);
  EXPECT_EQ(analysis.seconds_left(), 40);
  EXPECT_EQ(analysis.stage(), "full H");
  EXPECT_TRUE(observer.sink_error().ok());
}

TEST(RunObserverTest, UnknownTimeLeftIsMinusOne) {
  FakeSink sink;
  JobRunObserver observer = sink.Observer();
  observer.OnAnalysisProgress(FakeProgress(0));
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].progress().analysis().seconds_left(), -1);
  EXPECT_EQ(sink.events[0].progress().steps_per_second(), 0);  // no SGD rate seen yet
}

TEST(RunObserverTest, AnalysisEventsCloserThanTheIntervalAreDroppedOthersAreNot) {
  FakeSink sink;
  JobRunObserver observer = sink.Observer(kLongThrottle);
  observer.OnAnalysisProgress(FakeProgress(1));
  observer.OnAnalysisProgress(FakeProgress(2));              // dropped: within the interval
  ASSERT_TRUE(observer.OnProgress(4600, kStepsTotal, 800));  // SGD progress is never dropped
  ASSERT_TRUE(observer.OnSnapshot(Snapshot()));
  observer.OnAnalysisProgress(FakeProgress(3));  // dropped
  ASSERT_EQ(sink.events.size(), 3u);
  EXPECT_EQ(sink.events[0].progress().analysis().solves_done(), 1);
  EXPECT_FALSE(sink.events[1].progress().has_analysis());
  EXPECT_TRUE(sink.events[2].has_snapshot());

  FakeSink unthrottled;
  JobRunObserver every = unthrottled.Observer();
  for (int i = 1; i <= 3; ++i) every.OnAnalysisProgress(FakeProgress(i));
  EXPECT_EQ(unthrottled.events.size(), 3u);
}

TEST(RunObserverTest, FirstSinkFailureIsKeptAndStopsTheRun) {
  FakeSink sink;
  sink.fail_from = 1;
  JobRunObserver observer = sink.Observer();
  observer.OnAnalysisProgress(FakeProgress(1));  // recorded
  observer.OnAnalysisProgress(FakeProgress(2));  // fails: cannot stop the run itself
  EXPECT_EQ(observer.sink_error().code(), StatusCode::kInternal);
  EXPECT_EQ(observer.sink_error().message(), "disk full");
  const int calls = sink.calls;
  observer.OnAnalysisProgress(FakeProgress(3));  // not handed over any more
  EXPECT_FALSE(observer.OnProgress(4600, kStepsTotal, 800));
  EXPECT_FALSE(observer.OnSnapshot(Snapshot()));
  EXPECT_EQ(sink.calls, calls);
  EXPECT_EQ(sink.events.size(), 1u);
}

TEST(RunObserverTest, AStopRequestStopsAfterTheEventIsRecorded) {
  FakeSink sink;
  sink.stop = true;
  JobRunObserver observer = sink.Observer();
  EXPECT_FALSE(observer.OnProgress(10, kStepsTotal, 100));
  EXPECT_FALSE(observer.OnSnapshot(Snapshot()));
  observer.OnAnalysisProgress(FakeProgress(1));
  EXPECT_EQ(sink.events.size(), 3u);
  EXPECT_TRUE(observer.sink_error().ok());
}

}  // namespace
}  // namespace sgdspectra::server_test
