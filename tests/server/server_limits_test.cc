// Per-job limits the server sets and a spec cannot raise (--max-job-memory-bytes,
// --max-events-per-job), end to end through SubmitJob.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "server/server_options.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

grpc::Status Submit(InProcessServer* server, const v1::JobSpec& spec, v1::Job* job = nullptr) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  v1::Job submitted;
  return server->stub()->SubmitJob(&context, request, job != nullptr ? job : &submitted);
}

TEST(ServerLimitsTest, AJobAboveTheServersMemoryCapIsRefusedWhateverItsOwnBudget) {
  server::ServerOptions options;
  options.data_dir = TestDataDir();
  options.max_job_memory_bytes = 64 << 20;
  InProcessServer server(options);
  ASSERT_TRUE(server.ok());
  // d = 2000, M = 4000: the test and null inputs alone are 2 * 8 * M * d = 128 MB.
  v1::JobSpec big = TinySpec();
  big.mutable_kgmm()->set_dim(2000);
  big.set_memory_budget_bytes(1099511627776.0);  // 1 TiB: the spec's own budget cannot raise it
  const grpc::Status refused = Submit(&server, big);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message().rfind("memory_budget_bytes: ", 0), 0u)
      << refused.error_message();
  EXPECT_NE(refused.error_message().find("--max-job-memory-bytes"), std::string::npos);
  EXPECT_TRUE(Submit(&server, TinySpec()).ok());
}

TEST(ServerLimitsTest, AJobThatWouldSendTooManyEventsIsRefusedNamingProgressEverySteps) {
  server::ServerOptions options;
  options.data_dir = TestDataDir();
  options.max_events_per_job = 1000;
  InProcessServer server(options);
  ASSERT_TRUE(server.ok());
  v1::JobSpec chatty = TinySpec();
  chatty.mutable_sgd()->set_steps(5000);
  chatty.set_progress_every_steps(1);  // 5000 progress events
  const grpc::Status refused = Submit(&server, chatty);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message().rfind("progress_every_steps: ", 0), 0u)
      << refused.error_message();
  chatty.set_progress_every_steps(100);  // 50 progress events + the snapshots
  EXPECT_TRUE(Submit(&server, chatty).ok());
}

// A client that opens StreamTestSample and stops reading keeps its sample in memory: beyond
// --max-sample-streams such calls are refused, and a slot frees when a stream ends.
TEST(ServerLimitsTest, SampleStreamsBeyondTheLimitAreRefusedUntilOneEnds) {
  server::ServerOptions options;
  options.data_dir = TestDataDir();
  options.max_sample_streams = 1;
  InProcessServer server(options);
  ASSERT_TRUE(server.ok());
  // 64 MB: a stream whose reader stops stays open.
  const v1::JobSpec spec = LargeSampleSpec();
  v1::Job job;
  ASSERT_TRUE(Submit(&server, spec, &job).ok());
  v1::StreamTestSampleRequest request;
  request.set_job_id(job.job_id());
  request.set_rows_per_chunk(100);

  grpc::ClientContext stalled_context;
  stalled_context.set_deadline(Deadline());
  auto stalled = server.stub()->StreamTestSample(&stalled_context, request);
  v1::TestSampleChunk chunk;
  ASSERT_TRUE(stalled->Read(&chunk));  // open, and then not read any further
  EXPECT_EQ(chunk.total_rows(), 20000);

  {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    auto refused = server.stub()->StreamTestSample(&context, request);
    while (refused->Read(&chunk)) {
    }
    const grpc::Status status = refused->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(status.error_message().find("--max-sample-streams"), std::string::npos);
  }

  stalled_context.TryCancel();
  stalled->Finish();
  // The cancelled stream's slot frees when its reactor is done: shortly, not at once.
  grpc::Status status;
  for (int attempt = 0; attempt < 100; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v1::StreamTestSampleRequest small = request;
    auto reader = server.stub()->StreamTestSample(&context, small);
    int64_t rows = 0;
    while (reader->Read(&chunk)) rows += chunk.labels_size();
    status = reader->Finish();
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) {
      EXPECT_EQ(rows, 20000);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(ServerLimitsTest, TheDefaultMemoryCapIsHalfThePhysicalMemory) {
  const double physical =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  EXPECT_DOUBLE_EQ(server::DefaultMaxJobMemoryBytes(), 0.5 * physical);
}

}  // namespace
}  // namespace sgdspectra::server_test
