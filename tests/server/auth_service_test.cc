// Authentication, TLS and ownership through gRPC: an in-process server with throwaway
// certificates (tests/testing/make_test_certs.sh) and a token file, called as different
// principals. Checks the status codes and messages a client sees.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "server_test_util.h"
#include "test_security.h"

namespace sgdspectra::server_test {
namespace {

using ::sgdspectra::testing::MakeTestPki;
using ::sgdspectra::testing::TestPki;
using ::sgdspectra::testing::WriteFileAtomically;
using ::testing::HasSubstr;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

constexpr char kAlice[] = "alice-token-0123456789";
constexpr char kBob[] = "bob-token-abcdefghijkl";
constexpr char kRoot[] = "root-token-ZYXWVUTSRQPO";

const TestPki& Pki() {
  static const TestPki pki = MakeTestPki();
  return pki;
}

std::string TokenFile(const std::string& dir) {
  const std::string path = dir + "/tokens";
  WriteFileAtomically(path, std::string("# test principals\nalice ") + kAlice + "\nbob " + kBob +
                                "\nroot " + kRoot + "\n");
  return path;
}

// "client": the CA's client certificate; "rogue": one from another CA; "": none.
std::shared_ptr<grpc::Channel> TlsChannel(int port, const std::string& client = "client") {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = Pki().Read("ca.crt");
  if (!client.empty()) {
    ssl.pem_cert_chain = Pki().Read(client + ".crt");
    ssl.pem_private_key = Pki().Read(client + ".key");
  }
  return grpc::CreateChannel("localhost:" + std::to_string(port), grpc::SslCredentials(ssl));
}

// One principal's view of the service: every call carries its token (none when empty).
class Principal {
 public:
  Principal(std::shared_ptr<grpc::Channel> channel, std::string token)
      : stub_(v1::SgdSpectra::NewStub(channel)), token_(std::move(token)) {}

  void Prepare(grpc::ClientContext* context) const {
    context->set_deadline(Deadline());
    if (!token_.empty()) context->AddMetadata("authorization", "Bearer " + token_);
  }
  grpc::Status Submit(const v1::JobSpec& spec, v1::Job* job) const {
    grpc::ClientContext context;
    Prepare(&context);
    v1::SubmitJobRequest request;
    *request.mutable_spec() = spec;
    return stub_->SubmitJob(&context, request, job);
  }
  grpc::Status Get(const std::string& id, v1::Job* job = nullptr) const {
    grpc::ClientContext context;
    Prepare(&context);
    v1::GetJobRequest request;
    request.set_job_id(id);
    v1::Job ignored;
    return stub_->GetJob(&context, request, job != nullptr ? job : &ignored);
  }
  grpc::Status List(v1::ListJobsResponse* response) const {
    grpc::ClientContext context;
    Prepare(&context);
    return stub_->ListJobs(&context, v1::ListJobsRequest(), response);
  }
  grpc::Status Cancel(const std::string& id) const {
    grpc::ClientContext context;
    Prepare(&context);
    v1::CancelJobRequest request;
    request.set_job_id(id);
    v1::Job job;
    return stub_->CancelJob(&context, request, &job);
  }
  grpc::Status Result(const std::string& id, v1::JobResult* result = nullptr) const {
    grpc::ClientContext context;
    Prepare(&context);
    v1::GetResultRequest request;
    request.set_job_id(id);
    v1::JobResult ignored;
    return stub_->GetResult(&context, request, result != nullptr ? result : &ignored);
  }
  StreamResult Watch(const std::string& id) const {
    grpc::ClientContext context;
    Prepare(&context);
    v1::WatchJobRequest request;
    request.set_job_id(id);
    return Drain(stub_->WatchJob(&context, request));
  }
  StreamResult Run(const v1::JobSpec& spec) const {
    grpc::ClientContext context;
    Prepare(&context);
    v1::SubmitJobRequest request;
    *request.mutable_spec() = spec;
    return Drain(stub_->RunJob(&context, request));
  }
  grpc::Status Sample(const std::string& id) const {
    grpc::ClientContext context;
    Prepare(&context);
    v1::StreamTestSampleRequest request;
    request.set_job_id(id);
    auto reader = stub_->StreamTestSample(&context, request);
    v1::TestSampleChunk chunk;
    while (reader->Read(&chunk)) {
    }
    return reader->Finish();
  }

 private:
  template <typename Reader>
  static StreamResult Drain(std::unique_ptr<Reader> reader) {
    StreamResult result;
    v1::JobEvent event;
    while (reader->Read(&event)) result.events.push_back(event);
    result.status = reader->Finish();
    return result;
  }

  std::unique_ptr<v1::SgdSpectra::Stub> stub_;
  std::string token_;
};

HealthStatus::ServingStatus CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                        grpc::Status* status) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;  // no token
  context.set_deadline(Deadline());
  HealthStatus response;
  *status = stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  return response.status();
}

// A server with mutual TLS, the token file and `root` as admin, on 127.0.0.1:0.
class SecureServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Pki().ok());
    server::ServerOptions options;
    options.data_dir = TestDataDir();
    options.security.tls_cert = Pki().Path("server.crt");
    options.security.tls_key = Pki().Path("server.key");
    options.security.tls_client_ca = Pki().Path("ca.crt");
    options.security.auth_tokens = TokenFile(options.data_dir);
    options.security.admin_principals = {"root"};
    server_ = std::make_unique<InProcessServer>(options);
    ASSERT_TRUE(server_->ok());
    channel_ = TlsChannel(server_->server()->port());
  }

  Principal As(const std::string& token) const { return Principal(channel_, token); }

  std::unique_ptr<InProcessServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Every RPC of the service authenticates before it does anything: a missing or wrong token is
// UNAUTHENTICATED whatever the request, with a message saying which, never the token.
TEST_F(SecureServerTest, EveryRpcNeedsAKnownToken) {
  const std::vector<std::pair<const char*, std::function<grpc::Status(const Principal&)>>> rpcs = {
      {"SubmitJob",
       [](const Principal& p) {
         v1::Job j;
         return p.Submit(TinySpec(), &j);
       }},
      {"RunJob", [](const Principal& p) { return p.Run(TinySpec()).status; }},
      {"WatchJob", [](const Principal& p) { return p.Watch("j-0000000001").status; }},
      {"GetJob", [](const Principal& p) { return p.Get("j-0000000001"); }},
      {"ListJobs",
       [](const Principal& p) {
         v1::ListJobsResponse r;
         return p.List(&r);
       }},
      {"CancelJob", [](const Principal& p) { return p.Cancel("j-0000000001"); }},
      {"GetResult", [](const Principal& p) { return p.Result("j-0000000001"); }},
      {"StreamTestSample", [](const Principal& p) { return p.Sample("j-0000000001"); }},
  };
  const std::string wrong = "wrong-token-000000000000";
  for (const auto& [name, call] : rpcs) {
    const grpc::Status missing = call(As(""));
    EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    EXPECT_THAT(missing.error_message(), HasSubstr("missing bearer token")) << name;
    const grpc::Status unknown = call(As(wrong));
    EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
    EXPECT_EQ(unknown.error_message(), "bearer token not recognised") << name;
  }
  v1::ListJobsResponse listed;
  EXPECT_TRUE(As(kAlice).List(&listed).ok());
  EXPECT_EQ(listed.jobs_size(), 0) << "refused submissions created no job";
  // Every refusal (two per RPC) and no accepted call counted in the metrics.
  const std::string metrics = server_->server()->metrics()->TextExposition();
  EXPECT_THAT(metrics,
              HasSubstr("sgdspectra_auth_failures_total " + std::to_string(2 * rpcs.size()) + "\n"))
      << metrics;
}

TEST_F(SecureServerTest, HealthNeedsNoToken) {
  grpc::Status status;
  EXPECT_EQ(CheckHealth(channel_, &status), HealthStatus::SERVING);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Mutual TLS: the handshake itself fails without a client certificate or with one from
// another CA, before any token is looked at.
TEST_F(SecureServerTest, MutualTlsRefusesClientsWithoutACertificateOfTheCa) {
  const int port = server_->server()->port();
  for (const char* client : {"", "rogue"}) {
    const auto channel = TlsChannel(port, client);
    const grpc::Status call = Principal(channel, kAlice).Get("j-0000000001");
    EXPECT_EQ(call.error_code(), grpc::StatusCode::UNAVAILABLE) << "client cert: " << client;
    grpc::Status health;
    CheckHealth(channel, &health);
    EXPECT_EQ(health.error_code(), grpc::StatusCode::UNAVAILABLE) << "client cert: " << client;
  }
  // Plaintext to the TLS port fails as well.
  const auto plain = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  EXPECT_EQ(Principal(plain, kAlice).Get("j-0000000001").error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// Another principal's job answers every RPC exactly as an unknown id does; ListJobs shows it
// only to its owner and to admins, with its owner.
TEST_F(SecureServerTest, PrincipalsSeeOnlyTheirOwnJobsAndAdminsSeeAll) {
  const Principal alice = As(kAlice);
  const Principal bob = As(kBob);
  const Principal root = As(kRoot);
  const StreamResult run = alice.Run(TinySpec());
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  ASSERT_FALSE(run.events.empty());
  ASSERT_TRUE(run.events.back().has_finished());
  const std::string id = run.events.front().job_id();
  v1::Job job;
  ASSERT_TRUE(alice.Get(id, &job).ok());
  EXPECT_EQ(job.owner(), "alice");
  ASSERT_TRUE(alice.Result(id).ok());
  ASSERT_TRUE(alice.Sample(id).ok());

  const std::string unknown_id = id.substr(0, id.size() - 1) + "7";
  const grpc::Status unknown = bob.Get(unknown_id);
  ASSERT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  std::string expected = unknown.error_message();
  expected.replace(expected.find(unknown_id), unknown_id.size(), id);
  auto expect_hidden = [&](const grpc::Status& status, const char* what) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << what;
    EXPECT_EQ(status.error_message(), expected) << what;
  };
  expect_hidden(bob.Get(id), "GetJob");
  expect_hidden(bob.Watch(id).status, "WatchJob");
  EXPECT_TRUE(bob.Watch(id).events.empty());
  expect_hidden(bob.Cancel(id), "CancelJob");
  expect_hidden(bob.Result(id), "GetResult");
  expect_hidden(bob.Sample(id), "StreamTestSample");
  v1::ListJobsResponse listed;
  ASSERT_TRUE(bob.List(&listed).ok());
  EXPECT_EQ(listed.jobs_size(), 0);

  v1::Job bobs;
  ASSERT_TRUE(bob.Submit(TinySpec(3), &bobs).ok());
  EXPECT_EQ(bobs.owner(), "bob");
  listed.Clear();
  ASSERT_TRUE(alice.List(&listed).ok());
  ASSERT_EQ(listed.jobs_size(), 1);
  EXPECT_EQ(listed.jobs(0).job_id(), id);

  // The admin sees both, with their owners, and may read and watch alice's job.
  listed.Clear();
  ASSERT_TRUE(root.List(&listed).ok());
  ASSERT_EQ(listed.jobs_size(), 2);
  EXPECT_EQ(listed.jobs(0).owner(), "bob");
  EXPECT_EQ(listed.jobs(1).owner(), "alice");
  v1::JobResult result;
  ASSERT_TRUE(root.Result(id, &result).ok());
  EXPECT_EQ(result.job().owner(), "alice");
  const StreamResult watched = root.Watch(id);
  ASSERT_TRUE(watched.status.ok());
  EXPECT_EQ(watched.events.size(), run.events.size());
}

// SIGHUP's work, in process: a reload puts new tokens in force at once; a file that no longer
// parses changes nothing.
TEST_F(SecureServerTest, ReloadedTokensTakeEffectAndABrokenFileKeepsTheOldOnes) {
  const std::string path = server_->data_dir() + "/tokens";
  const std::string carol = "carol-token-1122334455";
  WriteFileAtomically(path, "carol " + carol + "\n");
  ASSERT_TRUE(server_->server()->ReloadAuthTokens().ok());
  EXPECT_EQ(As(carol).Get("j-0000000001").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(As(kAlice).Get("j-0000000001").error_code(), grpc::StatusCode::UNAUTHENTICATED);

  WriteFileAtomically(path, "carol\n");
  const Status failed = server_->server()->ReloadAuthTokens();
  EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(failed.message(), HasSubstr("line 1"));
  EXPECT_EQ(As(carol).Get("j-0000000001").error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(SecureServerStartTest, OffLoopbackWithoutTlsAndTokensIsRefusedUnlessTheLoudFlagIsGiven) {
  server::ServerOptions options;
  options.listen = "0.0.0.0:0";
  options.data_dir = TestDataDir() + "/not-created";
  std::unique_ptr<server::SpectraServer> server;
  const Status refused = server::SpectraServer::Start(options, &server);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("--insecure-allow-unauthenticated-remote"));
  EXPECT_FALSE(std::filesystem::exists(options.data_dir)) << "refused before touching the disk";

  options.security.insecure_allow_unauthenticated_remote = true;
  const Status started = server::SpectraServer::Start(options, &server);
  ASSERT_TRUE(started.ok()) << started.ToString();
  // Without tokens it is the development mode: no token needed.
  v1::ListJobsResponse listed;
  EXPECT_TRUE(Principal(grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()),
                                            grpc::InsecureChannelCredentials()),
                        "")
                  .List(&listed)
                  .ok());
  server->Shutdown();
}

// A token that came over plaintext from another machine is refused even though it is valid
// (it has been exposed); the same token over loopback works; health stays open. Needs an
// address of this machine that is not loopback; the decision itself is unit-tested
// (auth_units_test.cc, DecideCallerTest.RefusalsSayWhy).
TEST(SecureServerStartTest, PlaintextTokensFromOffLoopbackAreRefused) {
  const std::string ip = testing::NonLoopbackIpv4();
  if (ip.empty()) GTEST_SKIP() << "no non-loopback IPv4 address on this machine";
  server::ServerOptions options;
  options.listen = "0.0.0.0:0";
  options.data_dir = TestDataDir();
  options.security.auth_tokens = TokenFile(options.data_dir);
  options.security.insecure_allow_unauthenticated_remote = true;  // tokens without TLS
  std::unique_ptr<server::SpectraServer> server;
  ASSERT_TRUE(server::SpectraServer::Start(options, &server).ok());
  const std::string port = std::to_string(server->port());
  const auto remote = grpc::CreateChannel(ip + ":" + port, grpc::InsecureChannelCredentials());
  const auto local = grpc::CreateChannel("127.0.0.1:" + port, grpc::InsecureChannelCredentials());

  v1::ListJobsResponse listed;
  const grpc::Status refused = Principal(remote, kAlice).List(&listed);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("plaintext connection from a non-loopback address (ipv4:" + ip));
  EXPECT_THAT(refused.error_message(), ::testing::Not(HasSubstr(kAlice)));
  EXPECT_TRUE(Principal(local, kAlice).List(&listed).ok());
  grpc::Status health;
  EXPECT_EQ(CheckHealth(remote, &health), HealthStatus::SERVING);
  EXPECT_TRUE(health.ok());
  server->Shutdown();
}

}  // namespace
}  // namespace sgdspectra::server_test
