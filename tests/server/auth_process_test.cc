// The real sgdspectra-server binary: SIGHUP re-reads --auth-tokens (and never kills the
// process), and a --listen off loopback without TLS and tokens stops the start with a message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "child_server.h"
#include "server_test_util.h"
#include "test_security.h"

namespace sgdspectra::server_test {
namespace {

using ::sgdspectra::testing::ChildServer;
using ::sgdspectra::testing::WriteFileAtomically;
using ::testing::HasSubstr;

constexpr char kServerBinary[] = SGDSPECTRA_SERVER_BINARY;
constexpr char kOldToken[] = "old-token-0123456789ab";
constexpr char kNewToken[] = "new-token-ba9876543210";

grpc::StatusCode ListAs(const std::string& address, const std::string& token) {
  auto stub = MakeStub(address);
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  context.AddMetadata("authorization", "Bearer " + token);
  v1::ListJobsResponse response;
  return stub->ListJobs(&context, v1::ListJobsRequest(), &response).error_code();
}

// Polls (bounded) until the server answers `token` with `code`: SIGHUP is handled
// asynchronously, and the protocol is the only way to see that it has been.
bool EventuallyAnswers(const std::string& address, const std::string& token,
                       grpc::StatusCode code) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ListAs(address, token) == code) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(AuthProcessTest, SighupReloadsTheTokenFile) {
  const std::string dir = TestDataDir();
  const std::string tokens = dir + "/tokens";
  WriteFileAtomically(tokens, std::string("alice ") + kOldToken + "\n");
  auto child = ChildServer::Start(kServerBinary, dir + "/data", {"--auth-tokens", tokens});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(ListAs(child->address(), kOldToken), grpc::StatusCode::OK);
  EXPECT_EQ(ListAs(child->address(), kNewToken), grpc::StatusCode::UNAUTHENTICATED);

  WriteFileAtomically(tokens, std::string("alice ") + kNewToken + "\n");
  child->Signal(SIGHUP);
  ASSERT_TRUE(EventuallyAnswers(child->address(), kNewToken, grpc::StatusCode::OK));
  EXPECT_EQ(ListAs(child->address(), kOldToken), grpc::StatusCode::UNAUTHENTICATED);

  // A broken file: the reload fails, the process lives on with the tokens it had, and still
  // drains and exits 0 on SIGTERM.
  WriteFileAtomically(tokens, "alice\n");
  child->Signal(SIGHUP);
  EXPECT_EQ(ListAs(child->address(), kNewToken), grpc::StatusCode::OK);
  child->Signal(SIGTERM);
  EXPECT_EQ(child->Wait(), 0);
}

TEST(AuthProcessTest, SighupWithoutATokenFileLeavesTheServerRunning) {
  auto child = ChildServer::Start(kServerBinary, TestDataDir());
  ASSERT_NE(child, nullptr);
  child->Signal(SIGHUP);  // the default action would kill it: 128 + 1
  EXPECT_EQ(ListAs(child->address(), ""), grpc::StatusCode::OK);
  child->Signal(SIGTERM);
  EXPECT_EQ(child->Wait(), 0);
}

TEST(AuthProcessTest, ListeningOffLoopbackWithoutTlsAndTokensStopsTheStart) {
  const std::string data_dir = TestDataDir() + "/never";
  const std::string command =
      std::string(kServerBinary) + " --listen 0.0.0.0:0 --data-dir " + data_dir + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_THAT(output, HasSubstr("cannot start: --listen 0.0.0.0:0 is not a loopback address"));
  EXPECT_THAT(output, HasSubstr("--insecure-allow-unauthenticated-remote"));
}

}  // namespace
}  // namespace sgdspectra::server_test
