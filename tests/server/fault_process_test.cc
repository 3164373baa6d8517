// The real sgdspectra-server binary under faults: SIGTERM with watchers on long jobs and a short
// --shutdown-timeout-ms, file descriptors exhausted (prlimit), and a full file system (tmpfs).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "child_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

using ::sgdspectra::testing::ChildServer;
using HealthStatus = grpc::health::v1::HealthCheckResponse;
using Clock = std::chrono::steady_clock;

constexpr char kServerBinary[] = SGDSPECTRA_SERVER_BINARY;

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// The health status, or UNKNOWN when the server does not answer within `limit`.
HealthStatus::ServingStatus Health(const std::string& address,
                                   std::chrono::milliseconds limit = std::chrono::seconds(2)) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a new connection each time
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + limit);
  grpc::health::v1::HealthCheckRequest request;
  HealthStatus response;
  return stub->Check(&context, request, &response).ok() ? response.status() : HealthStatus::UNKNOWN;
}

// A job that spends its first seconds drawing a large test sample (M_test = 40 d = 80000 rows
// of 2000), then runs for minutes.
v1::JobSpec SlowStartSpec(uint64_t seed) {
  v1::JobSpec spec = LongSpec(seed);
  spec.mutable_sgd()->set_t_end(2000);  // 4e6 steps of d = 2000
  spec.mutable_kgmm()->set_dim(2000);
  spec.mutable_analysis()->set_test_ratio(40);
  spec.mutable_analysis()->set_full_matrices(false);
  spec.mutable_analysis()->set_g_matrix(false);
  return spec;
}

// Issue 11: "a 2 s timeout took 42 s and 6 watchers got a bare UNAVAILABLE". Now every watcher
// gets a terminal event and the process is gone within the timeout plus the stream grace.
TEST(FaultProcessTest, SigtermEndsEveryWatchWithATerminalEventWithinTheShutdownTimeout) {
  constexpr int kTimeoutMs = 2000;
  const std::string data_dir = TestDataDir();
  auto child = ChildServer::Start(
      kServerBinary, data_dir,
      {"--workers", "2", "--threads", "1", "--shutdown-timeout-ms", std::to_string(kTimeoutMs)});
  ASSERT_NE(child, nullptr);
  auto stub = MakeStub(child->address());
  std::vector<std::future<StreamResult>> watchers;
  std::vector<std::string> job_ids;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    v1::Job job;
    const grpc::Status submitted = Submit(stub.get(), SlowStartSpec(seed), &job);
    ASSERT_TRUE(submitted.ok()) << submitted.error_message();
    job_ids.push_back(job.job_id());
    watchers.push_back(std::async(std::launch::async, [&child, id = job.job_id()] {
      auto watcher_stub = MakeStub(child->address());
      return WatchAll(watcher_stub.get(), id, 0);
    }));
  }
  // Two jobs are drawing their samples (the others wait in the queue) when SIGTERM comes.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto signalled = Clock::now();
  child->Signal(SIGTERM);
  const int exit_status = child->WaitFor(60'000);
  const int64_t exit_ms = MillisSince(signalled);
  std::cout << "SIGTERM to exit: " << exit_ms << " ms (--shutdown-timeout-ms " << kTimeoutMs
            << ")\n";
  EXPECT_EQ(exit_status, 0);
  EXPECT_LT(exit_ms, kTimeoutMs + 4000) << "timeout + the 3 s stream grace + slack";

  for (size_t i = 0; i < watchers.size(); ++i) {
    const StreamResult watched = watchers[i].get();
    EXPECT_TRUE(watched.status.ok()) << job_ids[i] << ": " << watched.status.error_code() << " "
                                     << watched.status.error_message();
    ASSERT_FALSE(watched.events.empty()) << job_ids[i];
    ExpectContiguous(watched.events, 1);
    const v1::JobEvent& last = watched.events.back();
    ASSERT_TRUE(last.has_finished()) << job_ids[i] << " got no terminal event";
    EXPECT_EQ(last.finished().state(), v1::CANCELLED) << job_ids[i];
    EXPECT_EQ(last.finished().reason(), v1::SERVER_SHUTDOWN) << job_ids[i];
  }
}

// Writes an executable script that runs the server with both file limits at `limit`.
std::string LimitedServerScript(const std::string& dir, int limit) {
  const std::string path = dir + "/limited-server.sh";
  std::ofstream script(path);
  script << "#!/bin/sh\nexec prlimit --nofile=" << limit << " -- " << kServerBinary << " \"$@\"\n";
  script.close();
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

// Opens `count` TCP connections to port (fewer if this process runs out of descriptors).
std::vector<int> OpenConnections(int port, int count) {
  std::vector<int> fds;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < count; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      close(fd);
      break;
    }
    fds.push_back(fd);
  }
  return fds;
}

// 300 idle connections to a server allowed 256 descriptors: accept() fails with EMFILE, after
// which gRPC 1.51 never accepts again. The watchdog finds the listener dead; the server drains
// and exits 2 so that a supervisor restarts it (or, with a gRPC that recovers, answers again).
TEST(FaultProcessTest, AfterTheDescriptorsRanOutTheServerAnswersAgainOrExitsNonZero) {
  if (system("prlimit --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no prlimit";
  const std::string scratch = ::sgdspectra::testing::MakeTempDir();
  auto child =
      ChildServer::Start(LimitedServerScript(scratch, 256), TestDataDir(),
                         {"--watchdog-interval-ms", "500", "--listener-probe-failures", "3"});
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(Health(child->address()), HealthStatus::SERVING);

  std::vector<int> fds = OpenConnections(child->port(), 300);
  EXPECT_EQ(fds.size(), 300u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the server accepts what it can
  for (int fd : fds) close(fd);
  const auto closed = Clock::now();

  int exit_status = -1;
  bool answered = false;
  while (MillisSince(closed) < 30'000) {
    exit_status = child->WaitFor(0);
    if (exit_status >= 0) break;
    if (Health(child->address(), std::chrono::milliseconds(500)) == HealthStatus::SERVING) {
      answered = true;
      break;
    }
  }
  const int64_t recovered_ms = MillisSince(closed);
  std::cout << (answered ? "health SERVING again " : "server exited with status ")
            << (answered ? "" : std::to_string(exit_status) + " ") << recovered_ms
            << " ms after the connections closed\n";
  EXPECT_TRUE(answered || exit_status == 2) << "exit status " << exit_status;
  std::filesystem::remove_all(scratch);
}

// A real full file system: a 3 MiB tmpfs (needs root; skipped otherwise) holding the data dir.
class TmpfsDir {
 public:
  explicit TmpfsDir(const std::string& size) : path_(::sgdspectra::testing::MakeTempDir()) {
    mounted_ = mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~TmpfsDir() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
    rmdir(path_.c_str());
  }
  bool mounted() const { return mounted_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(FaultProcessTest, AFullFileSystemMakesTheServerNotServingUntilSpaceIsFreed) {
  TmpfsDir tmpfs("3m");
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs (not root?)";
  auto child =
      ChildServer::Start(kServerBinary, tmpfs.path() + "/data", {"--watchdog-interval-ms", "200"});
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(Health(child->address()), HealthStatus::SERVING);
  // Fill the file system but for 256 KiB (tmpfs allocates whole pages).
  const std::string filler = tmpfs.path() + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(4096, 'f');
    const auto space = std::filesystem::space(tmpfs.path());
    for (uintmax_t written = 0; written + (256 << 10) < space.available; written += block.size()) {
      out.write(block.data(), block.size());
    }
  }
  auto stub = MakeStub(child->address());
  v1::JobSpec chatty = MediumSpec();
  chatty.set_progress_every_steps(1);  // 2400 events, each a committed write
  v1::Job job;
  ASSERT_TRUE(Submit(stub.get(), chatty, &job).ok());
  const v1::Job failed = WaitTerminal(stub.get(), job.job_id());
  EXPECT_EQ(failed.state(), v1::FAILED);
  EXPECT_EQ(failed.finish_reason(), v1::STORE_ERROR);
  EXPECT_NE(failed.error_message().find("full"), std::string::npos) << failed.error_message();
  const auto full = Clock::now();
  while (Health(child->address()) != HealthStatus::NOT_SERVING && MillisSince(full) < 20'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Health(child->address()), HealthStatus::NOT_SERVING);
  std::cout << "NOT_SERVING " << MillisSince(full) << " ms after the job failed\n";

  std::filesystem::remove(filler);
  const auto freed = Clock::now();
  while (Health(child->address()) != HealthStatus::SERVING && MillisSince(freed) < 20'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Health(child->address()), HealthStatus::SERVING);
  std::cout << "SERVING " << MillisSince(freed) << " ms after space was freed\n";
  ASSERT_TRUE(Submit(stub.get(), TinySpec(), &job).ok());
  EXPECT_EQ(WaitTerminal(stub.get(), job.job_id()).state(), v1::SUCCEEDED);
  child->Signal(SIGTERM);
  EXPECT_EQ(child->Wait(), 0);
}

}  // namespace
}  // namespace sgdspectra::server_test
