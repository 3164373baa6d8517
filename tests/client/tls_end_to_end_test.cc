// End to end with security: the `sgdspectra` binary against a child `sgdspectra-server` with
// mutual TLS and bearer tokens (throwaway certificates from tests/testing/make_test_certs.sh),
// checked through what a user sees: stdout, stderr and the exit code.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "child_server.h"
#include "cli_process.h"
#include "client/exit_codes.h"
#include "sgdspectra/v1/jobs.pb.h"
#include "test_security.h"

namespace sgdspectra::client {
namespace {

using ::sgdspectra::testing::ChildServer;
using ::sgdspectra::testing::CliResult;
using ::sgdspectra::testing::TestPki;
using ::sgdspectra::testing::WriteFileAtomically;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCliBinary[] = SGDSPECTRA_CLI_BINARY;
constexpr char kServerBinary[] = SGDSPECTRA_SERVER_BINARY;
constexpr char kAlice[] = "alice-token-0123456789";
constexpr char kBob[] = "bob-token-abcdefghijkl";
constexpr char kRoot[] = "root-token-ZYXWVUTSRQPO";

const std::vector<std::string> kTinyJob = {"--d",     "40", "--k",    "3", "--lambda",      "50",
                                           "--t-end", "2",  "--seed", "5", "--every-steps", "20"};

std::string Describe(const CliResult& result) {
  return "exit " + std::to_string(result.exit_code) + "\n--- stdout\n" + result.out +
         "--- stderr\n" + result.err;
}

std::string Env(const std::string& name, const std::string& value) { return name + "=" + value; }

class TlsEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = sgdspectra::testing::MakeTestPki();
    ASSERT_TRUE(pki_.ok());
    dir_ = sgdspectra::testing::MakeTempDir();
    const std::string tokens = dir_ + "/tokens";
    WriteFileAtomically(
        tokens, std::string("alice ") + kAlice + "\nbob " + kBob + "\nroot " + kRoot + "\n");
    server_ = ChildServer::Start(kServerBinary, dir_ + "/data",
                                 {"--tls-cert", pki_.Path("server.crt"), "--tls-key",
                                  pki_.Path("server.key"), "--tls-client-ca", pki_.Path("ca.crt"),
                                  "--auth-tokens", tokens, "--admin-principals", "root"});
    ASSERT_NE(server_, nullptr);
    // 127.0.0.1 (an IP SAN of the certificate), not localhost: where localhost also resolves
    // to ::1 the CLI would treat the two addresses as two replicas.
    server_arg_ = server_->address();
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Signal(SIGTERM);
      EXPECT_EQ(server_->Wait(), 0);
    }
    std::filesystem::remove_all(dir_);
    std::filesystem::remove_all(pki_.dir);
  }

  // The TLS flags of a client with the CA's client certificate.
  std::vector<std::string> TlsFlags() const {
    return {"--tls-ca",  pki_.Path("ca.crt"),    "--tls-cert", pki_.Path("client.crt"),
            "--tls-key", pki_.Path("client.key")};
  }

  // `sgdspectra --server <child> <TLS flags> args...` with SGDSPECTRA_TOKEN=token (if any).
  CliResult Cli(const std::string& token, std::vector<std::string> args) const {
    std::vector<std::string> all = {"--server", server_arg_};
    const std::vector<std::string> tls = TlsFlags();
    all.insert(all.end(), tls.begin(), tls.end());
    all.insert(all.end(), args.begin(), args.end());
    std::vector<std::string> env = {Env("SGDSPECTRA_TOKEN", token)};
    if (token.empty()) env.clear();
    return sgdspectra::testing::RunCli(kCliBinary, all, env);
  }

  v1::Job GetJson(const std::string& token, const std::string& job_id) const {
    const CliResult result = Cli(token, {"get", job_id, "--output", "jsonl"});
    EXPECT_EQ(result.exit_code, kExitOk) << Describe(result);
    v1::Job job;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &job).ok()) << result.out;
    return job;
  }

  TestPki pki_;
  std::string dir_;
  std::unique_ptr<ChildServer> server_;
  std::string server_arg_;
};

TEST_F(TlsEndToEndTest, RunOverMutualTlsWithTheTokenFromTheEnvironment) {
  std::vector<std::string> run = {"run", "--output", "jsonl"};
  run.insert(run.end(), kTinyJob.begin(), kTinyJob.end());
  const CliResult result = Cli(kAlice, run);
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  std::istringstream lines(result.out);
  std::string first;
  std::getline(lines, first);
  v1::JobEvent accepted;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(first, &accepted).ok()) << first;
  EXPECT_THAT(result.out, HasSubstr("\"SUCCEEDED\""));
  const v1::Job job = GetJson(kAlice, accepted.job_id());
  EXPECT_EQ(job.owner(), "alice");
  EXPECT_EQ(job.state(), v1::SUCCEEDED);
}

// The TLS files from SGDSPECTRA_TLS_* (as --server from SGDSPECTRA_SERVER) and the token from
// --token-file; `health` needs TLS but no token.
TEST_F(TlsEndToEndTest, EnvironmentVariablesAndATokenFile) {
  const std::string token_file = dir_ + "/bob.token";
  WriteFileAtomically(token_file, std::string(kBob) + "\n");
  const std::vector<std::string> env = {Env("SGDSPECTRA_SERVER", server_arg_),
                                        Env("SGDSPECTRA_TLS_CA", pki_.Path("ca.crt")),
                                        Env("SGDSPECTRA_TLS_CERT", pki_.Path("client.crt")),
                                        Env("SGDSPECTRA_TLS_KEY", pki_.Path("client.key"))};
  CliResult result = sgdspectra::testing::RunCli(
      kCliBinary, {"--token-file", token_file, "submit", "--output", "jsonl", "--d", "40"}, env);
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  v1::Job job;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &job).ok()) << result.out;
  EXPECT_EQ(job.owner(), "bob");

  result = sgdspectra::testing::RunCli(kCliBinary, {"health"}, env);
  EXPECT_EQ(result.exit_code, kExitOk) << Describe(result);
  EXPECT_EQ(result.out, "SERVING\n");
  // Without TLS the server cannot even be reached.
  result = sgdspectra::testing::RunCli(kCliBinary, {"--server", server_arg_, "health"});
  EXPECT_EQ(result.exit_code, kExitRpcError) << Describe(result);
}

TEST_F(TlsEndToEndTest, MissingOrWrongTokensAreUnauthenticated) {
  CliResult result = Cli("", {"list"});
  EXPECT_EQ(result.exit_code, kExitRpcError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("error: UNAUTHENTICATED: missing bearer token"));
  const std::string wrong = "not-a-token-of-this-server";
  result = Cli(wrong, {"list"});
  EXPECT_EQ(result.exit_code, kExitRpcError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("error: UNAUTHENTICATED: bearer token not recognised"));
  EXPECT_THAT(result.err, Not(HasSubstr(wrong)));
}

TEST_F(TlsEndToEndTest, AnotherPrincipalsJobIsNotFoundAndAdminsSeeIt) {
  CliResult result = Cli(kAlice, {"submit", "--d", "40", "--t-end", "1"});
  ASSERT_EQ(result.exit_code, kExitOk) << Describe(result);
  const std::string job_id = result.out.substr(0, result.out.find('\n'));
  for (const char* command : {"get", "cancel", "watch", "result"}) {
    result = Cli(kBob, {command, job_id});
    EXPECT_EQ(result.exit_code, kExitRpcError) << command << ": " << Describe(result);
    EXPECT_THAT(result.err, HasSubstr("NOT_FOUND: job_id: no job " + job_id)) << command;
  }
  result = Cli(kBob, {"list", "--output", "csv"});
  EXPECT_EQ(result.exit_code, kExitOk) << Describe(result);
  EXPECT_THAT(result.out, Not(HasSubstr(job_id)));
  EXPECT_EQ(GetJson(kRoot, job_id).owner(), "alice");
}

TEST_F(TlsEndToEndTest, TlsServerNameOverridesTheNameChecked) {
  CliResult result = Cli(kAlice, {"--tls-server-name", "localhost", "list"});
  EXPECT_EQ(result.exit_code, kExitOk) << Describe(result);
  result = Cli(kAlice, {"--tls-server-name", "elsewhere.example", "list"});
  EXPECT_EQ(result.exit_code, kExitRpcError) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("UNAVAILABLE"));
}

// Refused before anything is sent: a token that would cross the network in plaintext, a
// certificate without its key, a token file that is not one token.
TEST(TlsCliUsageTest, BadSecuritySettingsAreUsageErrors) {
  const std::string dir = sgdspectra::testing::MakeTempDir();
  CliResult result = sgdspectra::testing::RunCli(kCliBinary, {"--server", "192.0.2.123:9", "list"},
                                                 {Env("SGDSPECTRA_TOKEN", kAlice)});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("refusing to send the bearer token in plaintext to "
                                    "192.0.2.123:9"));
  // Loopback in plaintext is allowed (the server decides): here nothing listens.
  result =
      sgdspectra::testing::RunCli(kCliBinary, {"--server", "127.0.0.1:9", "--timeout", "2", "list"},
                                  {Env("SGDSPECTRA_TOKEN", kAlice)});
  EXPECT_EQ(result.exit_code, kExitRpcError) << Describe(result);

  const std::string cert = dir + "/cert.pem";
  WriteFileAtomically(cert, "not used");
  result = sgdspectra::testing::RunCli(kCliBinary, {"--tls-cert", cert, "list"});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("--tls-cert: needs --tls-key"));

  const std::string token_file = dir + "/token";
  WriteFileAtomically(token_file, "two words\n");
  result = sgdspectra::testing::RunCli(kCliBinary, {"--token-file", token_file, "list"});
  EXPECT_EQ(result.exit_code, kExitUsage) << Describe(result);
  EXPECT_THAT(result.err, HasSubstr("--token-file " + token_file +
                                    ": the token must be one line of visible ASCII"));
  EXPECT_THAT(result.err, Not(HasSubstr("two words")));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sgdspectra::client
