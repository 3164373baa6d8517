// JobStore: what is written is what a reopened store loads.
#include "server/job_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "child_server.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

using server::JobStore;

v1::Job MakeJob(const std::string& id, v1::JobState state) {
  v1::Job job;
  job.set_job_id(id);
  job.set_state(state);
  *job.mutable_resolved_spec() = TinySpec();
  job.set_created_unix_ms(1000);
  job.set_build_version("test");
  job.set_steps_total(120);
  return job;
}

v1::JobEvent MakeEvent(const std::string& id, int64_t seq) {
  v1::JobEvent event;
  event.set_job_id(id);
  event.set_seq(seq);
  event.set_unix_ms(1000 + seq);
  event.mutable_progress()->set_steps_done(seq * 10);
  return event;
}

TEST(JobStoreTest, JobsEventsAndResultsSurviveReopening) {
  const std::string dir = TestDataDir();
  v1::Job finished_job = MakeJob("j-0000000001", v1::QUEUED);
  v1::JobEvent finished_event;
  v1::JobResult result;
  {
    std::unique_ptr<JobStore> store;
    ASSERT_TRUE(JobStore::Open(dir, &store).ok());
    ASSERT_TRUE(store->InsertJob(finished_job, MakeEvent("j-0000000001", 1)).ok());
    ASSERT_TRUE(
        store->InsertJob(MakeJob("j-0000000002", v1::QUEUED), MakeEvent("j-0000000002", 1)).ok());
    ASSERT_TRUE(store->AppendEvent(MakeEvent("j-0000000001", 2)).ok());
    finished_job.set_state(v1::SUCCEEDED);
    finished_job.set_finished_unix_ms(2000);
    finished_event = MakeEvent("j-0000000001", 3);
    finished_event.mutable_finished()->set_state(v1::SUCCEEDED);
    finished_event.mutable_finished()->set_reason(v1::COMPLETED);
    result.mutable_weights()->set_rows(1);
    result.mutable_weights()->set_cols(2);
    result.mutable_weights()->add_values(0.5);
    result.mutable_weights()->add_values(-1.5);
    ASSERT_TRUE(store->FinishJob(finished_job, finished_event, &result).ok());
    // A duplicate seq is refused as an error, not a crash.
    EXPECT_FALSE(store->AppendEvent(MakeEvent("j-0000000001", 2)).ok());
  }
  std::unique_ptr<JobStore> store;
  ASSERT_TRUE(JobStore::Open(dir, &store).ok());
  std::vector<server::StoredJob> jobs;
  ASSERT_TRUE(store->LoadJobs(&jobs).ok());
  ASSERT_EQ(jobs.size(), 2u);
  ExpectSameMessage(jobs[0].job, finished_job, "job 1");
  ASSERT_EQ(jobs[0].events.size(), 3u);
  ExpectSameMessage(jobs[0].events[1], MakeEvent("j-0000000001", 2), "event 2");
  ExpectSameMessage(jobs[0].events[2], finished_event, "finished event");
  EXPECT_EQ(jobs[1].job.state(), v1::QUEUED);
  EXPECT_EQ(jobs[1].events.size(), 1u);

  v1::JobResult loaded;
  bool found = false;
  ASSERT_TRUE(store->LoadResult("j-0000000001", &loaded, &found).ok());
  ASSERT_TRUE(found);
  ExpectSameMessage(loaded, result, "result");
  ASSERT_TRUE(store->LoadResult("j-0000000002", &loaded, &found).ok());
  EXPECT_FALSE(found);
}

// Job ids embed the store id, so it must survive a restart (ids stay unique and ordered on one
// server) and differ between data dirs (replicas never share an id).
TEST(JobStoreTest, StoreIdIsStableAcrossReopeningAndDiffersBetweenDataDirs) {
  const std::string first_dir = TestDataDir();
  const std::string second_dir = TestDataDir();
  ASSERT_NE(first_dir, second_dir);
  std::string first_id;
  {
    std::unique_ptr<JobStore> store;
    ASSERT_TRUE(JobStore::Open(first_dir, &store).ok());
    first_id = store->store_id();
  }
  EXPECT_EQ(first_id.size(), 8u);
  EXPECT_EQ(first_id.find_first_not_of("0123456789abcdef"), std::string::npos) << first_id;
  std::unique_ptr<JobStore> reopened;
  ASSERT_TRUE(JobStore::Open(first_dir, &reopened).ok());
  EXPECT_EQ(reopened->store_id(), first_id);
  std::unique_ptr<JobStore> other;
  ASSERT_TRUE(JobStore::Open(second_dir, &other).ok());
  // Two independent 32-bit draws collide with probability 2^-32.
  EXPECT_NE(other->store_id(), first_id);
}

// Finished events (and results) recorded before Finished.reason existed load with reason 0
// replaced by the reason their server meant: by state, except the two messages with which old
// servers said that they, not the job, had ended it. A record that has a reason keeps it.
TEST(JobStoreTest, FinishedRecordsWrittenBeforeTheReasonExistedAreGivenOneOnLoading) {
  struct Case {
    v1::JobState state;
    std::string message;
    v1::FinishReason stored;
    v1::FinishReason loaded;
  };
  const std::vector<Case> cases = {
      {v1::SUCCEEDED, "", v1::FINISH_REASON_UNSPECIFIED, v1::COMPLETED},
      {v1::CANCELLED, "cancelled by request", v1::FINISH_REASON_UNSPECIFIED, v1::CANCELLED_BY_USER},
      {v1::CANCELLED, "server shutting down", v1::FINISH_REASON_UNSPECIFIED, v1::SERVER_SHUTDOWN},
      {v1::FAILED, "interrupted", v1::FINISH_REASON_UNSPECIFIED, v1::INTERRUPTED},
      {v1::FAILED, "SGD diverged (loss not finite) at step 80", v1::FINISH_REASON_UNSPECIFIED,
       v1::RUN_FAILED},
      // The legacy text counts only with the state those servers wrote it with.
      {v1::CANCELLED, "interrupted", v1::FINISH_REASON_UNSPECIFIED, v1::CANCELLED_BY_USER},
      {v1::FAILED, "interrupted", v1::STORE_ERROR, v1::STORE_ERROR},
  };
  auto id_of = [](size_t i) {
    char id[32];
    std::snprintf(id, sizeof(id), "j-%010zu", i + 1);
    return std::string(id);
  };
  const std::string dir = TestDataDir();
  {
    std::unique_ptr<JobStore> store;
    ASSERT_TRUE(JobStore::Open(dir, &store).ok());
    for (size_t i = 0; i < cases.size(); ++i) {
      const std::string id = id_of(i);
      ASSERT_TRUE(store->InsertJob(MakeJob(id, v1::QUEUED), MakeEvent(id, 1)).ok());
      v1::JobEvent finished = MakeEvent(id, 2);
      finished.mutable_finished()->set_state(cases[i].state);
      finished.mutable_finished()->set_error_message(cases[i].message);
      finished.mutable_finished()->set_reason(cases[i].stored);
      v1::JobResult result;
      *result.mutable_finished() = finished.finished();
      ASSERT_TRUE(store->FinishJob(MakeJob(id, cases[i].state), finished, &result).ok());
    }
  }
  std::unique_ptr<JobStore> store;
  ASSERT_TRUE(JobStore::Open(dir, &store).ok());
  std::vector<server::StoredJob> jobs;
  ASSERT_TRUE(store->LoadJobs(&jobs).ok());
  ASSERT_EQ(jobs.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string what = v1::JobState_Name(cases[i].state) + " \"" + cases[i].message + "\"";
    ASSERT_EQ(jobs[i].events.size(), 2u) << what;
    const v1::Finished& finished = jobs[i].events[1].finished();
    EXPECT_EQ(finished.reason(), cases[i].loaded) << what;
    EXPECT_EQ(finished.state(), cases[i].state) << what;
    EXPECT_EQ(finished.error_message(), cases[i].message) << what;  // text kept for people
    v1::JobResult result;
    bool found = false;
    ASSERT_TRUE(store->LoadResult(id_of(i), &result, &found).ok());
    ASSERT_TRUE(found);
    EXPECT_EQ(result.finished().reason(), cases[i].loaded) << what << " (result)";
  }
}

TEST(JobStoreTest, OpeningInAMissingDirectoryIsAnError) {
  std::unique_ptr<JobStore> store;
  const Status status = JobStore::Open("/nonexistent/sgdspectra/dir", &store);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot open"), std::string::npos) << status.message();
  EXPECT_EQ(store, nullptr);
}

}  // namespace
}  // namespace sgdspectra::server_test
