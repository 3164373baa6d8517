// A restart on the same data directory keeps every job, event and result.
#include <gtest/gtest.h>

#include "child_server.h"
#include "server/job_store.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

struct Recorded {
  v1::Job job;
  std::vector<v1::JobEvent> events;
  v1::JobResult result;
};

Recorded Record(v1::SgdSpectra::Stub* stub, const std::string& job_id) {
  Recorded recorded;
  grpc::ClientContext get_context;
  v1::GetJobRequest get;
  get.set_job_id(job_id);
  EXPECT_TRUE(stub->GetJob(&get_context, get, &recorded.job).ok());
  const StreamResult stream = WatchAll(stub, job_id, 0);
  EXPECT_TRUE(stream.status.ok());
  recorded.events = stream.events;
  grpc::ClientContext result_context;
  v1::GetResultRequest request;
  request.set_job_id(job_id);
  EXPECT_TRUE(stub->GetResult(&result_context, request, &recorded.result).ok());
  return recorded;
}

void ExpectSameRecord(const Recorded& before, const Recorded& after) {
  ExpectSameMessage(after.job, before.job, "job " + before.job.job_id());
  ASSERT_EQ(after.events.size(), before.events.size());
  for (size_t i = 0; i < before.events.size(); ++i) {
    ExpectSameMessage(after.events[i], before.events[i], "event " + std::to_string(i + 1));
  }
  ExpectSameMessage(after.result, before.result, "result of " + before.job.job_id());
}

TEST(RestartTest, JobsEventsAndResultsSurviveARestartOnTheSameDataDir) {
  const std::string data_dir = TestDataDir();
  Recorded succeeded, cancelled;
  std::string last_id;
  {
    InProcessServer server(data_dir);
    ASSERT_TRUE(server.ok());
    const StreamResult run = RunAll(server.stub(), TinySpec());
    ASSERT_TRUE(run.status.ok()) << run.status.error_message();
    v1::Job job;
    ASSERT_TRUE(Submit(server.stub(), LongSpec(), &job).ok());
    ReadUntilRunning(server.stub(), job.job_id());  // so that it has weights to keep
    grpc::ClientContext context;
    v1::CancelJobRequest cancel;
    cancel.set_job_id(job.job_id());
    ASSERT_TRUE(server.stub()->CancelJob(&context, cancel, &job).ok());
    WaitTerminal(server.stub(), job.job_id());
    succeeded = Record(server.stub(), run.events[0].job_id());
    cancelled = Record(server.stub(), job.job_id());
    last_id = job.job_id();
    server.Stop();
  }
  ASSERT_EQ(succeeded.job.state(), v1::SUCCEEDED);
  ASSERT_EQ(cancelled.job.state(), v1::CANCELLED);
  // The reasons are part of the record the restart must keep (compared below).
  ASSERT_EQ(succeeded.events.back().finished().reason(), v1::COMPLETED);
  ASSERT_EQ(cancelled.events.back().finished().reason(), v1::CANCELLED_BY_USER);
  ASSERT_EQ(cancelled.result.finished().reason(), v1::CANCELLED_BY_USER);
  ASSERT_EQ(succeeded.result.weights().values_size(), 3 * 40);

  InProcessServer restarted(data_dir);
  ASSERT_TRUE(restarted.ok());
  ExpectSameRecord(succeeded, Record(restarted.stub(), succeeded.job.job_id()));
  ExpectSameRecord(cancelled, Record(restarted.stub(), cancelled.job.job_id()));

  // New jobs get new ids, after the recovered ones.
  v1::Job fresh;
  ASSERT_TRUE(Submit(restarted.stub(), TinySpec(), &fresh).ok());
  EXPECT_GT(fresh.job_id(), last_id);
  EXPECT_EQ(WaitTerminal(restarted.stub(), fresh.job_id()).state(), v1::SUCCEEDED);
}

// What an older server left in a data dir: a job it finished as "interrupted" before
// Finished.reason existed, and a job it was running when it died (no terminal event).
TEST(RestartTest, JobsLeftByAnEarlierProcessGetTheirReasonWhenTheServerLoadsThem) {
  const std::string data_dir = TestDataDir();
  const std::string legacy_id = "j-0000000001";
  const std::string running_id = "j-0000000002";
  {
    std::unique_ptr<server::JobStore> store;
    ASSERT_TRUE(server::JobStore::Open(data_dir, &store).ok());
    v1::Job job;
    job.set_job_id(legacy_id);
    job.set_state(v1::QUEUED);
    *job.mutable_resolved_spec() = TinySpec();
    v1::JobEvent accepted;
    accepted.set_job_id(legacy_id);
    accepted.set_seq(1);
    accepted.mutable_accepted()->set_steps_total(120);
    ASSERT_TRUE(store->InsertJob(job, accepted).ok());
    v1::JobEvent finished;
    finished.set_job_id(legacy_id);
    finished.set_seq(2);
    finished.mutable_finished()->set_state(v1::FAILED);
    finished.mutable_finished()->set_error_message("interrupted");  // no reason: old format
    job.set_state(v1::FAILED);
    ASSERT_TRUE(store->FinishJob(job, finished, nullptr).ok());

    job.set_job_id(running_id);
    job.set_state(v1::RUNNING);
    accepted.set_job_id(running_id);
    ASSERT_TRUE(store->InsertJob(job, accepted).ok());
  }
  InProcessServer server(data_dir);
  ASSERT_TRUE(server.ok());
  const StreamResult legacy = WatchAll(server.stub(), legacy_id, 0);
  ASSERT_TRUE(legacy.status.ok()) << legacy.status.error_message();
  ASSERT_EQ(legacy.events.size(), 2u);
  EXPECT_EQ(legacy.events.back().finished().reason(), v1::INTERRUPTED);
  // GetJob carries the reason too, for a job stored before the field existed.
  v1::Job legacy_job;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::GetJobRequest request;
  request.set_job_id(legacy_id);
  ASSERT_TRUE(server.stub()->GetJob(&context, request, &legacy_job).ok());
  EXPECT_EQ(legacy_job.finish_reason(), v1::INTERRUPTED);
  const StreamResult running = WatchAll(server.stub(), running_id, 0);
  ASSERT_TRUE(running.status.ok()) << running.status.error_message();
  ASSERT_EQ(running.events.size(), 2u);
  EXPECT_EQ(running.events.back().finished().state(), v1::FAILED);
  EXPECT_EQ(running.events.back().finished().reason(), v1::INTERRUPTED);
}

}  // namespace
}  // namespace sgdspectra::server_test
