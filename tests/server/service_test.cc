// In-process gRPC tests of streaming, watching, cancelling and queueing.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "child_server.h"
#include "server/convert.h"
#include "server/version.h"
#include "server_test_util.h"
#include "sgdspectra/core/experiment.h"

namespace sgdspectra::server_test {
namespace {

class CollectingObserver : public ExperimentObserver {
 public:
  bool OnSnapshot(const Snapshot& snapshot) override {
    snapshots.push_back(server::SnapshotToProto(snapshot));
    return true;
  }
  std::vector<v1::Snapshot> snapshots;
};

grpc::Status Cancel(v1::SgdSpectra::Stub* stub, const std::string& job_id, v1::Job* job) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::CancelJobRequest request;
  request.set_job_id(job_id);
  return stub->CancelJob(&context, request, job);
}

grpc::Status GetJob(v1::SgdSpectra::Stub* stub, const std::string& job_id, v1::Job* job) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  return stub->GetJob(&context, request, job);
}

TEST(ServiceTest, RunJobStreamsSeqOneToNAndMatchesADirectCoreRunBitForBit) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  const StreamResult run = RunAll(server.stub(), TinySpec());
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  ASSERT_GE(run.events.size(), 3u);
  ExpectContiguous(run.events, 1);
  ASSERT_TRUE(run.events.front().has_accepted());
  ASSERT_TRUE(run.events.back().has_finished());
  const v1::Accepted& accepted = run.events.front().accepted();
  const v1::Finished& finished = run.events.back().finished();
  EXPECT_EQ(finished.state(), v1::SUCCEEDED) << finished.error_message();
  EXPECT_EQ(finished.reason(), v1::COMPLETED);
  EXPECT_EQ(accepted.steps_total(), 120);  // t_end 3 / step (1 / 40)
  EXPECT_EQ(accepted.test_sample_size(), 80);
  EXPECT_EQ(accepted.build_version(), server::BuildVersion());
  EXPECT_EQ(finished.steps_done(), 120);
  ASSERT_TRUE(finished.has_rank());
  EXPECT_EQ(finished.rank().expected_rank(), 3);

  std::vector<v1::Snapshot> served;
  for (size_t i = 0; i + 1 < run.events.size(); ++i) {
    EXPECT_FALSE(run.events[i].has_finished()) << "terminal event before the end, index " << i;
    if (run.events[i].has_snapshot()) served.push_back(run.events[i].snapshot());
  }
  ASSERT_EQ(static_cast<int>(served.size()), accepted.snapshot_steps_size());
  ASSERT_EQ(served.size(), 4u);  // steps 0, 40, 80, 120
  for (size_t i = 0; i < served.size(); ++i) {
    EXPECT_EQ(served[i].index(), static_cast<int>(i));
    EXPECT_EQ(served[i].step(), accepted.snapshot_steps(i));
  }

  // The job records the spec it ran.
  v1::Job job;
  ASSERT_TRUE(GetJob(server.stub(), run.events[0].job_id(), &job).ok());
  EXPECT_EQ(job.state(), v1::SUCCEEDED);
  EXPECT_EQ(job.finish_reason(), v1::COMPLETED);
  EXPECT_EQ(job.last_seq(), static_cast<int64_t>(run.events.size()));
  EXPECT_EQ(job.snapshots_done(), 4);
  EXPECT_EQ(job.build_version(), server::BuildVersion());
  ExpectSameMessage(job.resolved_spec(), accepted.resolved_spec(), "resolved spec");

  // A direct core run of the recorded spec gives the same numbers, bit for bit.
  ExperimentSpec spec;
  ASSERT_TRUE(server::JobSpecFromProto(accepted.resolved_spec(), 1, &spec).ok());
  CollectingObserver observer;
  const ExperimentResult direct = RunExperiment(spec, &observer, [] { return false; });
  ASSERT_TRUE(direct.status.ok()) << direct.status.ToString();
  ASSERT_EQ(observer.snapshots.size(), served.size());
  for (size_t i = 0; i < served.size(); ++i) {
    ExpectSameMessage(WithoutTiming(served[i]), WithoutTiming(observer.snapshots[i]),
                      "snapshot " + std::to_string(i));
  }
  ExpectSameMessage(finished, server::FinishedFromResult(direct, v1::COMPLETED), "finished event");
}

TEST(ServiceTest, AnXorJobStreamsEveryLayerAndMatchesADirectCoreRunBitForBit) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  const StreamResult run = RunAll(server.stub(), TinyXorSpec());
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  ExpectContiguous(run.events, 1);
  const v1::Accepted& accepted = run.events.front().accepted();
  const v1::Finished& finished = run.events.back().finished();
  ASSERT_EQ(finished.state(), v1::SUCCEEDED) << finished.error_message();
  ASSERT_TRUE(finished.has_rank());
  EXPECT_EQ(finished.rank().expected_rank(), 4);
  EXPECT_EQ(finished.rank().covered_clusters_size(), 4);
  EXPECT_TRUE(accepted.resolved_spec().has_xor_task());

  std::vector<v1::Snapshot> served;
  for (const v1::JobEvent& event : run.events) {
    if (event.has_snapshot()) served.push_back(event.snapshot());
  }
  ASSERT_EQ(served.size(), 4u);
  std::set<v1::BlockKind> blocks;
  for (const v1::Spectrum& spectrum : served.back().spectra()) blocks.insert(spectrum.block());
  EXPECT_EQ(blocks,
            (std::set<v1::BlockKind>{v1::NEURON, v1::FIRST_LAYER, v1::SECOND_LAYER, v1::FULL}));
  EXPECT_EQ(served.back().num_classes(), 4);
  EXPECT_EQ(served.back().num_means(), 2);
  EXPECT_EQ(served.back().second_layer_weights_size(), 4);
  EXPECT_EQ(served.back().weight_mean_products_size(), 4 * 2);

  ExperimentSpec spec;
  ASSERT_TRUE(server::JobSpecFromProto(accepted.resolved_spec(), 1, &spec).ok());
  EXPECT_EQ(spec.task, TaskKind::kXor);
  CollectingObserver observer;
  const ExperimentResult direct = RunExperiment(spec, &observer, [] { return false; });
  ASSERT_TRUE(direct.status.ok()) << direct.status.ToString();
  ASSERT_EQ(observer.snapshots.size(), served.size());
  for (size_t i = 0; i < served.size(); ++i) {
    ExpectSameMessage(WithoutTiming(served[i]), WithoutTiming(observer.snapshots[i]),
                      "snapshot " + std::to_string(i));
  }
  ExpectSameMessage(finished, server::FinishedFromResult(direct, v1::COMPLETED), "finished event");

  grpc::ClientContext context;
  v1::GetResultRequest request;
  request.set_job_id(run.events[0].job_id());
  v1::JobResult result;
  ASSERT_TRUE(server.stub()->GetResult(&context, request, &result).ok());
  EXPECT_EQ(result.weights().rows(), 4);  // W: K x d
  EXPECT_EQ(result.weights().cols(), 40);
  EXPECT_EQ(result.means().rows(), 2);  // mu, nu
  ASSERT_EQ(result.second_layer_size(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(result.second_layer(i), direct.second_layer(i));
}

// analysis.theory and analysis.density_probes: every snapshot carries the prediction at its own
// time and every spectrum its density; the final event carries the prediction's limit. The
// prediction starts from the job's own t = 0 statistics, so there it equals the measured ones
// (read by the snapshot code); and the stream is what a direct core run of the recorded spec
// gives, bit for bit. A job without them carries neither.
TEST(ServiceTest, TheoryAndDensityStreamBesideTheMeasurementWhenAsked) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::JobSpec spec = TinySpec();
  spec.mutable_analysis()->set_theory(true);
  spec.mutable_analysis()->set_density_probes(3);
  spec.mutable_analysis()->set_density_steps(10);
  const StreamResult run = RunAll(server.stub(), spec);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  const v1::Finished& finished = run.events.back().finished();
  ASSERT_EQ(finished.state(), v1::SUCCEEDED) << finished.error_message();
  std::vector<v1::Snapshot> served;
  for (const v1::JobEvent& event : run.events) {
    if (event.has_snapshot()) served.push_back(event.snapshot());
  }
  ASSERT_EQ(served.size(), 4u);
  for (const v1::Snapshot& snapshot : served) {
    ASSERT_TRUE(snapshot.has_theory()) << snapshot.index();
    EXPECT_EQ(snapshot.theory().time(), snapshot.time());
    EXPECT_EQ(snapshot.theory().weight_mean_products_size(), 9);  // k x k, k = 3
    for (const v1::Spectrum& spectrum : snapshot.spectra()) {
      ASSERT_TRUE(spectrum.has_density());
      double weight = 0;
      for (double w : spectrum.density().node_weights()) weight += w;
      EXPECT_NEAR(weight, 1.0, 1e-12);  // a probability measure over the block's spectrum
    }
  }
  const v1::TheoryPoint& start = served.front().theory();
  for (int i = 0; i < 9; ++i) {
    EXPECT_NEAR(start.weight_mean_products(i), served.front().weight_mean_products(i), 1e-12);
  }
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(start.weight_norms(c), served.front().weight_norms(c), 1e-12);
  }
  ASSERT_TRUE(finished.has_theory());
  EXPECT_GE(finished.theory().limit().time(), 3.0);
  EXPECT_EQ(finished.theory().limit().weight_norms_size(), 3);

  ExperimentSpec core_spec;
  ASSERT_TRUE(
      server::JobSpecFromProto(run.events.front().accepted().resolved_spec(), 1, &core_spec).ok());
  EXPECT_TRUE(core_spec.analysis.theory);
  CollectingObserver observer;
  const ExperimentResult direct = RunExperiment(core_spec, &observer, [] { return false; });
  ASSERT_TRUE(direct.status.ok());
  ASSERT_EQ(observer.snapshots.size(), served.size());
  for (size_t i = 0; i < served.size(); ++i) {
    ExpectSameMessage(WithoutTiming(served[i]), WithoutTiming(observer.snapshots[i]),
                      "snapshot " + std::to_string(i));
  }
  v1::TheoryLimit direct_limit = server::FinishedFromResult(direct, v1::COMPLETED).theory();
  direct_limit.set_seconds(finished.theory().seconds());
  ExpectSameMessage(finished.theory(), direct_limit, "theory limit");

  const StreamResult plain = RunAll(server.stub(), TinySpec());
  ASSERT_TRUE(plain.status.ok());
  for (const v1::JobEvent& event : plain.events) {
    if (event.has_snapshot()) {
      EXPECT_FALSE(event.snapshot().has_theory());
      for (const v1::Spectrum& spectrum : event.snapshot().spectra()) {
        EXPECT_FALSE(spectrum.has_density());
      }
    }
  }
  EXPECT_FALSE(plain.events.back().finished().has_theory());
}

TEST(ServiceTest, WatcherThatReattachesAfterEventJGetsJPlusOneToNExactlyOnce) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::Job job;
  ASSERT_TRUE(Submit(server.stub(), MediumSpec(), &job).ok());
  constexpr size_t kJ = 5;

  std::vector<v1::JobEvent> first_part;
  {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v1::WatchJobRequest request;
    request.set_job_id(job.job_id());
    auto reader = server.stub()->WatchJob(&context, request);
    ReadUntil(reader.get(), &first_part,
              [](const v1::JobEvent& event) { return event.seq() == static_cast<int64_t>(kJ); });
    context.TryCancel();  // the watcher disconnects
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  ASSERT_EQ(first_part.size(), kJ);
  ExpectContiguous(first_part, 1);

  const StreamResult rest = WatchAll(server.stub(), job.job_id(), kJ);
  ASSERT_TRUE(rest.status.ok()) << rest.status.error_message();
  ASSERT_FALSE(rest.events.empty());
  ExpectContiguous(rest.events, kJ + 1);
  EXPECT_TRUE(rest.events.back().has_finished());
  EXPECT_EQ(rest.events.back().finished().state(), v1::SUCCEEDED);

  // The two parts are exactly the whole stream.
  const StreamResult whole = WatchAll(server.stub(), job.job_id(), 0);
  ASSERT_TRUE(whole.status.ok());
  ASSERT_EQ(whole.events.size(), kJ + rest.events.size());
  for (size_t i = 0; i < whole.events.size(); ++i) {
    const v1::JobEvent& part = i < kJ ? first_part[i] : rest.events[i - kJ];
    ExpectSameMessage(whole.events[i], part, "event " + std::to_string(i + 1));
  }

  // Watching from the last seq of a finished job gives nothing and ends OK; beyond it is
  // an invalid argument.
  const int64_t n = static_cast<int64_t>(whole.events.size());
  const StreamResult at_end = WatchAll(server.stub(), job.job_id(), n);
  EXPECT_TRUE(at_end.status.ok());
  EXPECT_TRUE(at_end.events.empty());
  const StreamResult beyond = WatchAll(server.stub(), job.job_id(), n + 1);
  EXPECT_EQ(beyond.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(beyond.status.error_message().find("after_seq"), std::string::npos);
}

TEST(ServiceTest, TwoConcurrentWatchersGetIdenticalStreams) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::Job job;
  ASSERT_TRUE(Submit(server.stub(), MediumSpec(), &job).ok());
  StreamResult a, b;
  std::thread watcher_a([&] { a = WatchAll(server.stub(), job.job_id(), 0); });
  std::thread watcher_b([&] { b = WatchAll(server.stub(), job.job_id(), 0); });
  watcher_a.join();
  watcher_b.join();
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  ASSERT_TRUE(b.status.ok()) << b.status.error_message();
  ASSERT_GT(a.events.size(), 100u);  // 13 snapshots and 240 progress events
  ASSERT_EQ(a.events.size(), b.events.size());
  ExpectContiguous(a.events, 1);
  for (size_t i = 0; i < a.events.size(); ++i) {
    ExpectSameMessage(a.events[i], b.events[i], "event " + std::to_string(i + 1));
  }
  EXPECT_EQ(a.events.back().finished().state(), v1::SUCCEEDED);
}

TEST(ServiceTest, WatcherThatStopsReadingDoesNotStallTheJob) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::JobSpec spec = MediumSpec();
  spec.set_progress_every_steps(2);  // over a thousand events, past HTTP/2 flow control
  v1::Job job;
  ASSERT_TRUE(Submit(server.stub(), spec, &job).ok());

  // The stalled watcher has a connection of its own, so its unread data cannot hold up the
  // other client's connection either.
  grpc::ChannelArguments own_connection;
  own_connection.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto stalled_stub = v1::SgdSpectra::NewStub(grpc::CreateCustomChannel(
      server.address(), grpc::InsecureChannelCredentials(), own_connection));
  grpc::ClientContext stalled_context;
  stalled_context.set_deadline(Deadline());
  v1::WatchJobRequest request;
  request.set_job_id(job.job_id());
  auto stalled = stalled_stub->WatchJob(&stalled_context, request);  // not read from yet

  const v1::Job done = WaitTerminal(server.stub(), job.job_id());
  EXPECT_EQ(done.state(), v1::SUCCEEDED);
  EXPECT_GT(done.last_seq(), 1200);

  // The stalled watcher lost nothing meanwhile.
  std::vector<v1::JobEvent> events;
  ReadUntil(stalled.get(), &events, [](const v1::JobEvent&) { return false; });
  EXPECT_TRUE(stalled->Finish().ok());
  ASSERT_EQ(static_cast<int64_t>(events.size()), done.last_seq());
  ExpectContiguous(events, 1);
  EXPECT_TRUE(events.back().has_finished());
}

TEST(ServiceTest, CancelEndsARunningJobCancelledAndTheWorkerTakesTheNextJob) {
  InProcessServer server(TestDataDir(), /*workers=*/1);
  ASSERT_TRUE(server.ok());
  v1::Job running, queued;
  ASSERT_TRUE(Submit(server.stub(), LongSpec(), &running).ok());
  ASSERT_TRUE(Submit(server.stub(), TinySpec(), &queued).ok());
  ASSERT_FALSE(ReadUntilRunning(server.stub(), running.job_id()).back().has_finished());
  v1::Job state;
  ASSERT_TRUE(GetJob(server.stub(), queued.job_id(), &state).ok());
  EXPECT_EQ(state.state(), v1::QUEUED);  // the only worker is busy

  const auto cancel_time = std::chrono::steady_clock::now();
  v1::Job cancelled;
  ASSERT_TRUE(Cancel(server.stub(), running.job_id(), &cancelled).ok());
  const StreamResult stream = WatchAll(server.stub(), running.job_id(), 0);
  const auto stop_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - cancel_time).count();
  ASSERT_TRUE(stream.status.ok());
  ExpectContiguous(stream.events, 1);
  const v1::Finished& finished = stream.events.back().finished();
  EXPECT_EQ(finished.state(), v1::CANCELLED);
  EXPECT_EQ(finished.reason(), v1::CANCELLED_BY_USER);
  v1::Job after;
  ASSERT_TRUE(GetJob(server.stub(), running.job_id(), &after).ok());
  EXPECT_EQ(after.finish_reason(), v1::CANCELLED_BY_USER);
  EXPECT_FALSE(finished.has_rank());
  EXPECT_LT(finished.steps_done(), stream.events.front().accepted().steps_total());
  EXPECT_LT(stop_seconds, 10.0);  // one snapshot interval is milliseconds of work

  const v1::Job next = WaitTerminal(server.stub(), queued.job_id());
  EXPECT_EQ(next.state(), v1::SUCCEEDED);
  EXPECT_GT(next.started_unix_ms(), 0);
}

TEST(ServiceTest, CancellingAQueuedJobFinishesItAtOnce) {
  InProcessServer server(TestDataDir(), /*workers=*/1);
  ASSERT_TRUE(server.ok());
  v1::Job running, queued;
  ASSERT_TRUE(Submit(server.stub(), LongSpec(), &running).ok());
  ASSERT_TRUE(Submit(server.stub(), TinySpec(), &queued).ok());
  v1::Job cancelled;
  ASSERT_TRUE(Cancel(server.stub(), queued.job_id(), &cancelled).ok());
  EXPECT_EQ(cancelled.state(), v1::CANCELLED);
  EXPECT_EQ(cancelled.started_unix_ms(), 0);
  const StreamResult stream = WatchAll(server.stub(), queued.job_id(), 0);
  ASSERT_TRUE(stream.status.ok());
  ASSERT_EQ(stream.events.size(), 2u);  // accepted, finished
  ExpectContiguous(stream.events, 1);
  EXPECT_EQ(stream.events[1].finished().state(), v1::CANCELLED);
  EXPECT_EQ(stream.events[1].finished().reason(), v1::CANCELLED_BY_USER);

  v1::Job job;
  EXPECT_EQ(Cancel(server.stub(), queued.job_id(), &job).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Cancel(server.stub(), running.job_id(), &job).ok());
  EXPECT_EQ(WaitTerminal(server.stub(), running.job_id()).state(), v1::CANCELLED);
}

TEST(ServiceTest, FullQueueRefusesAtOnceAndCapacityReturnsWhenAJobEnds) {
  InProcessServer server(TestDataDir(), /*workers=*/1, /*queue=*/1);
  ASSERT_TRUE(server.ok());
  v1::Job running, waiting, refused;
  ASSERT_TRUE(Submit(server.stub(), LongSpec(), &running).ok());
  ASSERT_TRUE(Submit(server.stub(), TinySpec(1), &waiting).ok());

  const auto start = std::chrono::steady_clock::now();
  const grpc::Status full = Submit(server.stub(), TinySpec(2), &refused);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << full.error_message();
  EXPECT_LT(seconds, 2.0);  // at once, not after waiting for room

  v1::Job job;
  ASSERT_TRUE(Cancel(server.stub(), running.job_id(), &job).ok());
  EXPECT_EQ(WaitTerminal(server.stub(), running.job_id()).state(), v1::CANCELLED);
  v1::Job admitted;
  const grpc::Status again = Submit(server.stub(), TinySpec(2), &admitted);
  EXPECT_TRUE(again.ok()) << again.error_message();
  EXPECT_EQ(WaitTerminal(server.stub(), waiting.job_id()).state(), v1::SUCCEEDED);
  EXPECT_EQ(WaitTerminal(server.stub(), admitted.job_id()).state(), v1::SUCCEEDED);
}

TEST(ServiceTest, UnknownJobIsNotFoundAndCancellingAFinishedJobIsAFailedPrecondition) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  const std::string unknown = "j-0000009999";
  v1::Job job;
  EXPECT_EQ(GetJob(server.stub(), unknown, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Cancel(server.stub(), unknown, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(WatchAll(server.stub(), unknown, 0).status.error_code(), grpc::StatusCode::NOT_FOUND);
  {
    grpc::ClientContext context;
    v1::GetResultRequest request;
    request.set_job_id(unknown);
    v1::JobResult result;
    EXPECT_EQ(server.stub()->GetResult(&context, request, &result).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  const StreamResult run = RunAll(server.stub(), TinySpec());
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  const std::string& id = run.events[0].job_id();
  const grpc::Status status = Cancel(server.stub(), id, &job);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("SUCCEEDED"), std::string::npos);
  ASSERT_TRUE(GetJob(server.stub(), id, &job).ok());
  EXPECT_EQ(job.state(), v1::SUCCEEDED);
}

TEST(ServiceTest, WatchDeadlineEndsOnlyThatStreamAndTheJobStillSucceeds) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::JobSpec spec = MediumSpec();
  // 40000 steps and 1001 snapshots: seconds of work, against a 100 ms deadline.
  spec.mutable_sgd()->set_t_end(1000);
  spec.mutable_schedule()->set_every_steps(40);
  spec.set_progress_every_steps(4000);
  v1::Job job;
  ASSERT_TRUE(Submit(server.stub(), spec, &job).ok());
  ReadUntilRunning(server.stub(), job.job_id());

  const StreamResult cut =
      WatchAll(server.stub(), job.job_id(), 0, Deadline(std::chrono::milliseconds(100)));
  EXPECT_EQ(cut.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_FALSE(cut.events.empty());
  ExpectContiguous(cut.events, 1);
  EXPECT_FALSE(cut.events.back().has_finished());  // the job had not ended at the deadline

  // The job went on without that watcher and finished normally.
  const v1::Job done = WaitTerminal(server.stub(), job.job_id());
  EXPECT_EQ(done.state(), v1::SUCCEEDED);
  EXPECT_EQ(done.steps_done(), 40000);
  EXPECT_GT(done.last_seq(), cut.events.back().seq());
}

TEST(ServiceTest, ListJobsPagesNewestFirstAndFiltersByState) {
  InProcessServer server(TestDataDir(), /*workers=*/1, /*queue=*/8);
  ASSERT_TRUE(server.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    v1::Job job;
    ASSERT_TRUE(Submit(server.stub(), TinySpec(i), &job).ok());
    ids.push_back(job.job_id());
  }
  for (const std::string& id : ids) WaitTerminal(server.stub(), id);
  v1::Job cancel_me, job;
  ASSERT_TRUE(Submit(server.stub(), LongSpec(), &cancel_me).ok());
  ASSERT_TRUE(Cancel(server.stub(), cancel_me.job_id(), &job).ok());
  WaitTerminal(server.stub(), cancel_me.job_id());
  ids.push_back(cancel_me.job_id());

  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext context;
    v1::ListJobsRequest request;
    request.set_page_size(2);
    request.set_page_token(token);
    v1::ListJobsResponse response;
    ASSERT_TRUE(server.stub()->ListJobs(&context, request, &response).ok());
    EXPECT_LE(response.jobs_size(), 2);
    for (const v1::Job& listed_job : response.jobs()) listed.push_back(listed_job.job_id());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listed, std::vector<std::string>(ids.rbegin(), ids.rend()));

  grpc::ClientContext context;
  v1::ListJobsRequest request;
  request.set_state_filter(v1::CANCELLED);
  v1::ListJobsResponse response;
  ASSERT_TRUE(server.stub()->ListJobs(&context, request, &response).ok());
  ASSERT_EQ(response.jobs_size(), 1);
  EXPECT_EQ(response.jobs(0).job_id(), cancel_me.job_id());
  EXPECT_TRUE(response.next_page_token().empty());

  grpc::ClientContext bad_context;
  v1::ListJobsRequest bad;
  bad.set_page_size(1001);
  EXPECT_EQ(server.stub()->ListJobs(&bad_context, bad, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(ServiceTest, DrainRefusesNewJobsAndCancelsRunningOnesWithATerminalEvent) {
  InProcessServer server(TestDataDir(), /*workers=*/1);
  ASSERT_TRUE(server.ok());
  v1::Job running, queued;
  ASSERT_TRUE(Submit(server.stub(), LongSpec(), &running).ok());
  ASSERT_TRUE(Submit(server.stub(), TinySpec(), &queued).ok());
  ReadUntilRunning(server.stub(), running.job_id());
  server.server()->BeginDrain();

  v1::Job refused;
  EXPECT_EQ(Submit(server.stub(), TinySpec(), &refused).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  const StreamResult stream = WatchAll(server.stub(), running.job_id(), 0);
  ASSERT_TRUE(stream.status.ok());
  EXPECT_EQ(stream.events.back().finished().state(), v1::CANCELLED);
  EXPECT_EQ(stream.events.back().finished().reason(), v1::SERVER_SHUTDOWN);
  EXPECT_EQ(WaitTerminal(server.stub(), queued.job_id()).state(), v1::CANCELLED);
  // The queued job never ran; the drain ended it too, for the same reason.
  const StreamResult queued_stream = WatchAll(server.stub(), queued.job_id(), 0);
  ASSERT_TRUE(queued_stream.status.ok());
  EXPECT_EQ(queued_stream.events.back().finished().reason(), v1::SERVER_SHUTDOWN);
}

TEST(ServiceTest, ADivergingJobFailsWithAClearMessageAndTheServerLivesOn) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::JobSpec diverging = TinySpec();
  // x <- x (1 - step * ridge) multiplies |x| by ~1e4 per step: overflow within ~80 steps.
  diverging.mutable_sgd()->set_step_size(10);
  diverging.mutable_kgmm()->set_ridge(1000);
  diverging.mutable_sgd()->set_steps(400);
  diverging.mutable_schedule()->set_every_steps(100);
  const StreamResult run = RunAll(server.stub(), diverging);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  ExpectContiguous(run.events, 1);
  const v1::Finished& finished = run.events.back().finished();
  EXPECT_EQ(finished.state(), v1::FAILED);
  EXPECT_EQ(finished.reason(), v1::RUN_FAILED);
  EXPECT_FALSE(finished.error_message().empty());
  EXPECT_FALSE(finished.has_rank());
  EXPECT_LT(finished.steps_done(), 400);

  const StreamResult next = RunAll(server.stub(), TinySpec());
  ASSERT_TRUE(next.status.ok()) << next.status.error_message();
  EXPECT_EQ(next.events.back().finished().state(), v1::SUCCEEDED);
}

}  // namespace
}  // namespace sgdspectra::server_test
