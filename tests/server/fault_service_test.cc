// The server's fault paths in process: finished jobs' events live in the store only, a forced
// finish of a running job, sample streams that stall, a store that cannot write, and the
// queue-full message.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <regex>
#include <string>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "server/job_event_log.h"
#include "server/server_options.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

using HealthStatus = grpc::health::v1::HealthCheckResponse;

// Polls `condition` until it holds or `limit` passes; true if it held.
template <typename Condition>
bool Eventually(Condition condition, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

HealthStatus::ServingStatus Health(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::health::v1::HealthCheckRequest request;
  HealthStatus response;
  const grpc::Status status = stub->Check(&context, request, &response);
  return status.ok() ? response.status() : HealthStatus::UNKNOWN;
}

grpc::Status SubmitWithin(v1::SgdSpectra::Stub* stub, const v1::JobSpec& spec,
                          std::chrono::milliseconds limit, v1::Job* job) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + limit);
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  return stub->SubmitJob(&context, request, job);
}

// VmRSS of this process in bytes (Linux).
int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// Issue 11: a finished job keeps no events in memory. Watchers that followed it live got
// every event once, in order; a watch after the end pages the same events in from the store.
TEST(FaultServiceTest, FinishedJobsHoldNoEventsInMemoryAndReplayIdenticallyFromTheStore) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::JobSpec chatty = MediumSpec();
  chatty.set_progress_every_steps(4);  // about 600 events: more than two store pages
  std::vector<StreamResult> live;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    chatty.set_seed(seed);
    live.push_back(RunAll(server.stub(), chatty));
    ASSERT_TRUE(live.back().status.ok()) << live.back().status.error_message();
    ExpectContiguous(live.back().events, 1);
    ASSERT_GT(live.back().events.size(), 512u);
    ASSERT_TRUE(live.back().events.back().has_finished());
  }
  // The streams' reactors release their logs shortly after the clients saw the end.
  EXPECT_TRUE(Eventually([] { return server::JobEventLog::EventsInMemory() == 0; }))
      << server::JobEventLog::EventsInMemory() << " events still in memory";

  for (const StreamResult& run : live) {
    const std::string& job_id = run.events.front().job_id();
    const StreamResult replay = WatchAll(server.stub(), job_id, 0);
    ASSERT_TRUE(replay.status.ok()) << replay.status.error_message();
    ASSERT_EQ(replay.events.size(), run.events.size());
    for (size_t i = 0; i < run.events.size(); ++i) {
      ExpectSameMessage(replay.events[i], run.events[i], "event " + std::to_string(i + 1));
    }
    const StreamResult tail = WatchAll(server.stub(), job_id, 300);
    ASSERT_TRUE(tail.status.ok());
    ASSERT_EQ(tail.events.size(), run.events.size() - 300);
    ExpectSameMessage(tail.events.front(), run.events[300], "event 301");
  }
  EXPECT_TRUE(Eventually([] { return server::JobEventLog::EventsInMemory() == 0; }));
}

// The forced end of a drain: a running job is finished SERVER_SHUTDOWN for its watchers; the
// run's later events are dropped and its own end does not add a second terminal event.
TEST(FaultServiceTest, AForcedFinishGivesTheWatchersOfARunningJobOneTerminalEvent) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  v1::Job job;
  ASSERT_TRUE(Submit(server.stub(), LongSpec(), &job).ok());
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::WatchJobRequest request;
  request.set_job_id(job.job_id());
  auto reader = server.stub()->WatchJob(&context, request);
  std::vector<v1::JobEvent> events;
  ASSERT_TRUE(ReadUntil(reader.get(), &events, [](const v1::JobEvent& event) {
    return event.has_snapshot() && event.snapshot().step() > 0;
  }));

  EXPECT_EQ(server.server()->job_manager()->FinishRunningJobs("stuck in a test"), 1);
  v1::JobEvent event;
  while (reader->Read(&event)) events.push_back(event);
  ASSERT_TRUE(reader->Finish().ok());
  ExpectContiguous(events, 1);
  ASSERT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().finished().state(), v1::CANCELLED);
  EXPECT_EQ(events.back().finished().reason(), v1::SERVER_SHUTDOWN);
  EXPECT_EQ(events.back().finished().error_message(), "stuck in a test");

  // The run stops at its next event (the manager refuses it) and adds nothing.
  const StreamResult stored = WatchAll(server.stub(), job.job_id(), 0);
  ASSERT_TRUE(stored.status.ok());
  ASSERT_EQ(stored.events.size(), events.size());
  ExpectSameMessage(stored.events.back(), events.back(), "the terminal event");
  EXPECT_TRUE(Submit(server.stub(), TinySpec(), &job).ok());  // the worker is free again
  EXPECT_EQ(WaitTerminal(server.stub(), job.job_id()).state(), v1::SUCCEEDED);
}

// --max-sample-streams clients that stop reading hold neither a thread that SubmitJob needs
// nor their whole sample: each holds one generator block and one chunk.
TEST(FaultServiceTest, StalledSampleStreamsNeitherDelaySubmitNorHoldTheirSamples) {
  server::ServerOptions options;
  options.data_dir = TestDataDir();
  options.max_sample_streams = 4;
  options.request_threads = 1;
  InProcessServer server(options);
  ASSERT_TRUE(server.ok());
  // 64 MB per sample (128 MB with the noise rows a whole-sample draw also makes).
  const v1::JobSpec spec = LargeSampleSpec();
  v1::Job job;
  ASSERT_TRUE(Submit(server.stub(), spec, &job).ok());
  {
    // Only its spec matters here: stop its run, whose own sample would blur the measurement.
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v1::CancelJobRequest cancel;
    cancel.set_job_id(job.job_id());
    v1::Job cancelled;
    ASSERT_TRUE(server.stub()->CancelJob(&context, cancel, &cancelled).ok());
  }
  ASSERT_EQ(WaitTerminal(server.stub(), job.job_id()).state(), v1::CANCELLED);

  const int64_t before = ResidentBytes();
  struct Stalled {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::TestSampleChunk>> reader;
  };
  std::vector<std::unique_ptr<Stalled>> streams;
  for (int i = 0; i < options.max_sample_streams; ++i) {
    auto stalled = std::make_unique<Stalled>();
    stalled->context.set_deadline(Deadline());
    v1::StreamTestSampleRequest request;
    request.set_job_id(job.job_id());
    stalled->reader = server.stub()->StreamTestSample(&stalled->context, request);
    v1::TestSampleChunk chunk;
    ASSERT_TRUE(stalled->reader->Read(&chunk));  // open, then not read any further
    EXPECT_EQ(chunk.total_rows(), 20000);
    streams.push_back(std::move(stalled));
  }
  // Let the streams fill whatever the transport buffers.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int64_t growth = ResidentBytes() - before;
  std::cout << "resident memory growth with " << streams.size()
            << " stalled 64 MB sample streams: " << growth / (1 << 20) << " MiB\n";
  // Holding the samples would take 4 x 64 MB of inputs alone; measured here: about 40 MiB
  // (transport buffers, the executor's thread), so the bound is well between the two.
  EXPECT_LT(growth, 128ll << 20) << "the streams hold their samples";

  v1::Job submitted;
  const grpc::Status status =
      SubmitWithin(server.stub(), TinySpec(), std::chrono::seconds(10), &submitted);
  EXPECT_TRUE(status.ok()) << status.error_message();
  for (auto& stalled : streams) {
    stalled->context.TryCancel();
    stalled->reader->Finish();
  }
}

// Disk full, for real inside SQLite (max_page_count makes a growing write fail with
// SQLITE_FULL): health NOT_SERVING, the job that could not be recorded FAILED with
// STORE_ERROR naming the error, and SERVING again once a write can succeed.
TEST(FaultServiceTest, AStoreThatCannotWriteMakesTheServerNotServingUntilItCanAgain) {
  server::ServerOptions options;
  options.data_dir = TestDataDir();
  options.watchdog_interval_ms = 100;
  InProcessServer server(options);
  ASSERT_TRUE(server.ok());
  ASSERT_EQ(Health(server.address()), HealthStatus::SERVING);
  ASSERT_TRUE(server.server()->job_store()->LimitPagesForTesting(1).ok());  // = its size now

  v1::JobSpec chatty = MediumSpec();
  chatty.set_progress_every_steps(1);  // 2400 events: the database must grow
  v1::Job job;
  ASSERT_TRUE(Submit(server.stub(), chatty, &job).ok());
  const v1::Job failed = WaitTerminal(server.stub(), job.job_id());
  EXPECT_EQ(failed.state(), v1::FAILED);
  EXPECT_EQ(failed.finish_reason(), v1::STORE_ERROR);
  EXPECT_NE(failed.error_message().find("database or disk is full"), std::string::npos)
      << failed.error_message();
  EXPECT_TRUE(Eventually([&] { return Health(server.address()) == HealthStatus::NOT_SERVING; }));

  ASSERT_TRUE(server.server()->job_store()->LimitPagesForTesting(0).ok());
  EXPECT_TRUE(Eventually([&] { return Health(server.address()) == HealthStatus::SERVING; }));
  ASSERT_TRUE(Submit(server.stub(), TinySpec(), &job).ok());
  EXPECT_EQ(WaitTerminal(server.stub(), job.job_id()).state(), v1::SUCCEEDED);
}

// RESOURCE_EXHAUSTED says how the capacity is used, counting submits still being recorded
// (concurrent submits hit that window).
TEST(FaultServiceTest, TheQueueFullMessageCountsEveryJobHoldingASlot) {
  InProcessServer server(TestDataDir(), /*workers=*/1, /*queue=*/1);
  ASSERT_TRUE(server.ok());
  std::vector<std::future<grpc::Status>> submits;
  for (int i = 0; i < 8; ++i) {
    submits.push_back(std::async(std::launch::async, [&server, i] {
      v1::Job job;
      return Submit(server.stub(), LongSpec(100 + i), &job);
    }));
  }
  const std::regex counts(
      R"(queue full: (\d+) running, (\d+) queued \((\d+) of them being recorded\); capacity (\d+) = --workers 1 \+ --queue 1)");
  int refused = 0;
  for (auto& submit : submits) {
    const grpc::Status status = submit.get();
    if (status.ok()) continue;
    ++refused;
    ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    std::smatch match;
    const std::string message = status.error_message();
    ASSERT_TRUE(std::regex_search(message, match, counts)) << message;
    EXPECT_EQ(std::stoi(match[4]), 2);
    EXPECT_GE(std::stoi(match[1]) + std::stoi(match[2]), 2) << message;
    EXPECT_LE(std::stoi(match[1]), 1) << message;
  }
  EXPECT_EQ(refused, 6);
}

// Sends `bytes` as the one request message of `method` through a raw (generic) call, whatever
// the method's shape, and returns the status the server finished it with.
grpc::Status CallWithRawRequest(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& method, const std::string& bytes) {
  grpc::GenericStub generic(channel);
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::CompletionQueue queue;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      generic.PrepareCall(&context, method, &queue);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  queue.Next(&tag, &ok);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  call->WriteLast(request, grpc::WriteOptions(), reinterpret_cast<void*>(2));
  queue.Next(&tag, &ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(3));
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status;
}

// Bytes that parse as no request message. gRPC 1.51's callback handlers alone answer them with
// UNIMPLEMENTED and an empty message before any service code runs; server/request_decode.h turns
// that into INVALID_ARGUMENT naming the method, for unary and streaming methods alike. A valid
// request on the same server afterwards still works.
TEST(FaultServiceTest, ARequestThatIsNotAProtobufIsAnInvalidArgumentAndTheServerServesOn) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  const std::string garbage = "\xff\xff\xff\xff\x0f garbage";
  for (const char* method :
       {"/sgdspectra.v1.SgdSpectra/SubmitJob", "/sgdspectra.v1.SgdSpectra/GetJob",
        "/sgdspectra.v1.SgdSpectra/WatchJob", "/sgdspectra.v1.SgdSpectra/StreamTestSample"}) {
    SCOPED_TRACE(method);
    const grpc::Status status = CallWithRawRequest(channel, method, garbage);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_NE(status.error_message().find(method), std::string::npos) << status.error_message();
    EXPECT_NE(status.error_message().find("not a valid protobuf"), std::string::npos);
  }
  // Valid bytes are untouched by the interceptor: an unknown job is still NOT_FOUND.
  v1::GetJobRequest get;
  get.set_job_id("j-0000009999");
  EXPECT_EQ(CallWithRawRequest(channel, "/sgdspectra.v1.SgdSpectra/GetJob", get.SerializeAsString())
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::Job job;
  EXPECT_TRUE(Submit(server.stub(), TinySpec(), &job).ok());
}

}  // namespace
}  // namespace sgdspectra::server_test
