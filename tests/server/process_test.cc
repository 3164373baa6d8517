// The real sgdspectra-server binary as a child process: a SIGKILL mid-job and a SIGTERM with
// a watcher open.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <thread>

#include "child_server.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

using ::sgdspectra::testing::ChildServer;

constexpr char kServerBinary[] = SGDSPECTRA_SERVER_BINARY;

v1::Job GetJob(v1::SgdSpectra::Stub* stub, const std::string& job_id) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  v1::Job job;
  EXPECT_TRUE(stub->GetJob(&context, request, &job).ok());
  return job;
}

TEST(ProcessTest, AJobRunningWhenTheServerIsKilledIsFailedInterruptedAfterRestart) {
  const std::string data_dir = TestDataDir();
  std::string finished_id, killed_id;
  StreamResult finished_before;
  std::vector<v1::JobEvent> killed_events;
  {
    auto child = ChildServer::Start(kServerBinary, data_dir);
    ASSERT_NE(child, nullptr);
    auto stub = MakeStub(child->address());
    const StreamResult run = RunAll(stub.get(), TinySpec());
    ASSERT_TRUE(run.status.ok()) << run.status.error_message();
    finished_id = run.events[0].job_id();
    finished_before = WatchAll(stub.get(), finished_id, 0);

    v1::Job job;
    ASSERT_TRUE(Submit(stub.get(), LongSpec(), &job).ok());
    killed_id = job.job_id();
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v1::WatchJobRequest request;
    request.set_job_id(killed_id);
    auto reader = stub->WatchJob(&context, request);
    ASSERT_TRUE(ReadUntil(reader.get(), &killed_events, [](const v1::JobEvent& event) {
      return event.has_snapshot() && event.snapshot().step() > 0;
    }));
    child->Signal(SIGKILL);
    EXPECT_EQ(child->Wait(), 128 + SIGKILL);
    v1::JobEvent event;
    while (reader->Read(&event)) killed_events.push_back(event);
    EXPECT_FALSE(reader->Finish().ok());  // the connection died with the server
  }

  auto child = ChildServer::Start(kServerBinary, data_dir);
  ASSERT_NE(child, nullptr);
  auto stub = MakeStub(child->address());
  const v1::Job killed = GetJob(stub.get(), killed_id);
  EXPECT_EQ(killed.state(), v1::FAILED);
  EXPECT_FALSE(killed.error_message().empty());
  EXPECT_GT(killed.finished_unix_ms(), 0);

  // Its stream holds everything delivered before the kill and now terminates.
  const StreamResult stream = WatchAll(stub.get(), killed_id, 0);
  ASSERT_TRUE(stream.status.ok()) << stream.status.error_message();
  ExpectContiguous(stream.events, 1);
  ASSERT_GT(stream.events.size(), killed_events.size());
  for (size_t i = 0; i < killed_events.size(); ++i) {
    ExpectSameMessage(stream.events[i], killed_events[i], "event " + std::to_string(i + 1));
  }
  ASSERT_TRUE(stream.events.back().has_finished());
  EXPECT_EQ(stream.events.back().finished().state(), v1::FAILED);
  EXPECT_EQ(stream.events.back().finished().reason(), v1::INTERRUPTED);

  // The finished job is intact.
  const StreamResult finished_after = WatchAll(stub.get(), finished_id, 0);
  ASSERT_EQ(finished_after.events.size(), finished_before.events.size());
  for (size_t i = 0; i < finished_before.events.size(); ++i) {
    ExpectSameMessage(finished_after.events[i], finished_before.events[i],
                      "finished job event " + std::to_string(i + 1));
  }
  EXPECT_EQ(GetJob(stub.get(), finished_id).state(), v1::SUCCEEDED);

  // The interrupted job can be resubmitted with the same spec.
  v1::Job again;
  const grpc::Status resubmitted = Submit(stub.get(), killed.resolved_spec(), &again);
  ASSERT_TRUE(resubmitted.ok()) << resubmitted.error_message();
  EXPECT_GT(again.job_id(), killed_id);
  // An idle sync client does not poll its connection, so the server's graceful GOAWAY would
  // wait out its stream grace (3 s); closing the channel first keeps the test fast.
  stub.reset();
  child->Signal(SIGTERM);
  EXPECT_EQ(child->Wait(), 0);
}

TEST(ProcessTest, SigtermWithAJobRunningAndAWatcherOpenEndsTheStreamAndExitsZero) {
  const std::string data_dir = TestDataDir();
  auto child = ChildServer::Start(kServerBinary, data_dir);
  ASSERT_NE(child, nullptr);
  auto stub = MakeStub(child->address());
  v1::Job job;
  ASSERT_TRUE(Submit(stub.get(), LongSpec(), &job).ok());

  grpc::ClientContext context;
  context.set_deadline(Deadline());
  v1::WatchJobRequest request;
  request.set_job_id(job.job_id());
  auto reader = stub->WatchJob(&context, request);
  std::vector<v1::JobEvent> events;
  ASSERT_TRUE(ReadUntil(reader.get(), &events, [](const v1::JobEvent& event) {
    return event.has_snapshot() && event.snapshot().step() > 0;
  }));
  child->Signal(SIGTERM);
  ReadUntil(reader.get(), &events, [](const v1::JobEvent&) { return false; });
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(child->Wait(), 0);

  // The watcher got the terminal event and a clean end of stream.
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  ExpectContiguous(events, 1);
  ASSERT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().finished().state(), v1::CANCELLED);
  EXPECT_EQ(events.back().finished().reason(), v1::SERVER_SHUTDOWN);

  // What the watcher saw is what was recorded: the job is CANCELLED (SERVER_SHUTDOWN) after a
  // restart, not INTERRUPTED.
  auto restarted = ChildServer::Start(kServerBinary, data_dir);
  ASSERT_NE(restarted, nullptr);
  auto restarted_stub = MakeStub(restarted->address());
  const v1::Job after = GetJob(restarted_stub.get(), job.job_id());
  EXPECT_EQ(after.state(), v1::CANCELLED);
  EXPECT_EQ(after.last_seq(), events.back().seq());
  const StreamResult recorded = WatchAll(restarted_stub.get(), job.job_id(), after.last_seq() - 1);
  ASSERT_TRUE(recorded.status.ok()) << recorded.status.error_message();
  ASSERT_EQ(recorded.events.size(), 1u);
  EXPECT_EQ(recorded.events[0].finished().reason(), v1::SERVER_SHUTDOWN);
}

// Lists the services through server reflection; *status says how the call ended.
std::vector<std::string> ListServices(const std::string& address, grpc::Status* status) {
  namespace reflection = grpc::reflection::v1alpha;
  auto stub = reflection::ServerReflection::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = stub->ServerReflectionInfo(&context);
  reflection::ServerReflectionRequest request;
  request.set_list_services("");
  stream->Write(request);
  stream->WritesDone();
  std::vector<std::string> services;
  reflection::ServerReflectionResponse response;
  while (stream->Read(&response)) {
    for (const auto& service : response.list_services_response().service()) {
      services.push_back(service.name());
    }
  }
  *status = stream->Finish();
  return services;
}

TEST(ProcessTest, ReflectionIsServedOnlyWithTheFlag) {
  grpc::Status status;
  {
    auto child = ChildServer::Start(kServerBinary, TestDataDir(), {"--reflection"});
    ASSERT_NE(child, nullptr);
    const std::vector<std::string> services = ListServices(child->address(), &status);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_NE(std::find(services.begin(), services.end(), "sgdspectra.v1.SgdSpectra"),
              services.end());
    EXPECT_NE(std::find(services.begin(), services.end(), "grpc.health.v1.Health"), services.end());
  }
  auto child = ChildServer::Start(kServerBinary, TestDataDir());
  ASSERT_NE(child, nullptr);
  EXPECT_TRUE(ListServices(child->address(), &status).empty());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST(ProcessTest, BadFlagsExitNonZeroWithoutStarting) {
  // --workers 0 is out of range: the server must refuse to start.
  EXPECT_EQ(ChildServer::Start(kServerBinary, TestDataDir(), {"--workers", "0"}), nullptr);
}

}  // namespace
}  // namespace sgdspectra::server_test
