// Units of authentication without gRPC: the token file (parsing, digests, reload), the per-call
// decision (server/call_auth.h) and the listening rule (server/security_options.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/auth_tokens.h"
#include "server/call_auth.h"
#include "server/security_options.h"
#include "server_test_util.h"
#include "test_security.h"

namespace sgdspectra::server_test {
namespace {

using server::AuthPolicy;
using server::Caller;
using server::CallFacts;
using server::DecideCaller;
using server::IsLoopbackPeer;
using server::ParseTokenFile;
using server::SecurityOptions;
using server::TokenEntry;
using server::TokenStore;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAliceToken[] = "alice-token-0123456789";
constexpr char kBobToken[] = "bob-token-abcdefghijkl";

std::string Hex(const server::TokenDigest& digest) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 15];
  }
  return hex;
}

// FIPS 180-2's test vectors: the digest is SHA-256, not just some hash.
TEST(AuthTokensTest, DigestIsSha256) {
  EXPECT_EQ(Hex(server::DigestOf("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(server::DigestOf("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(AuthTokensTest, ParsesPairsCommentsBlankLinesAndCrlf) {
  const std::string text = std::string("# tokens of the lab\n\n  alice\t") + kAliceToken +
                           "  \r\n   # indented comment\nbob " + kBobToken + "\nalice " +
                           "alice-new-token-9876543210";  // a second token of alice, no newline
  std::vector<TokenEntry> entries;
  const Status status = ParseTokenFile(text, "--auth-tokens f", &entries);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].principal, "alice");
  EXPECT_EQ(entries[0].digest, server::DigestOf(kAliceToken));
  EXPECT_EQ(entries[1].principal, "bob");
  EXPECT_EQ(entries[1].digest, server::DigestOf(kBobToken));
  EXPECT_EQ(entries[2].principal, "alice");
}

// Each malformed line is refused with its line number and the broken rule, and the message
// never repeats what the line held (it may be a token in the wrong place).
TEST(AuthTokensTest, MalformedLinesAreRefusedWithTheirNumberAndNoSecret) {
  const std::string secret = "s3cret-value-0123456789";
  struct Case {
    std::string line;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {secret, "line 2: expected 'PRINCIPAL TOKEN', got 1 fields"},
      {"alice " + secret + " extra", "line 2: expected 'PRINCIPAL TOKEN', got 3 fields"},
      {"al/ice " + secret, "line 2: the principal must be 1-64 characters"},
      {std::string(65, 'p') + " " + secret, "line 2: the principal must be 1-64 characters"},
      {"alice short-token", "line 2: the token must be 16-1024 characters long, got 11"},
      {"alice " + std::string(1025, 't'),
       "line 2: the token must be 16-1024 characters long, got 1025"},
      {"alice " + secret + "\x7f", "line 2: the token must be visible ASCII characters"},
      {"bob " + std::string(kAliceToken), "line 2: the same token as line 1"},
  };
  for (const Case& c : cases) {
    std::vector<TokenEntry> entries;
    const std::string text = std::string("alice ") + kAliceToken + "\n" + c.line + "\n";
    const Status status = ParseTokenFile(text, "--auth-tokens f", &entries);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(status.message(), HasSubstr("--auth-tokens f: " + c.expected)) << c.line;
    EXPECT_THAT(status.message(), Not(HasSubstr(secret)));
    EXPECT_THAT(status.message(), Not(HasSubstr(kAliceToken)));
  }
}

TEST(AuthTokensTest, AFileWithoutTokensIsRefused) {
  std::vector<TokenEntry> entries;
  const Status status = ParseTokenFile("# nobody yet\n\n", "--auth-tokens f", &entries);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("holds no 'PRINCIPAL TOKEN' line"));
}

TEST(AuthTokensTest, StoreAuthenticatesAndAFailedReloadKeepsTheOldTokens) {
  const std::string path = TestDataDir() + "/tokens";
  testing::WriteFileAtomically(path, std::string("alice ") + kAliceToken + "\n");
  std::unique_ptr<TokenStore> store;
  ASSERT_TRUE(TokenStore::Load(path, &store).ok());
  std::string principal;
  ASSERT_TRUE(store->Authenticate(kAliceToken, &principal).ok());
  EXPECT_EQ(principal, "alice");
  const Status unknown = store->Authenticate(kBobToken, &principal);
  EXPECT_EQ(unknown.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(unknown.message(), "bearer token not recognised");
  // A prefix or an extension of a valid token is another token.
  EXPECT_FALSE(store->Authenticate(std::string(kAliceToken).substr(1), &principal).ok());
  EXPECT_FALSE(store->Authenticate(std::string(kAliceToken) + "x", &principal).ok());

  testing::WriteFileAtomically(path, std::string("bob ") + kBobToken + "\n");
  ASSERT_TRUE(store->Reload().ok());
  ASSERT_TRUE(store->Authenticate(kBobToken, &principal).ok());
  EXPECT_EQ(principal, "bob");
  EXPECT_FALSE(store->Authenticate(kAliceToken, &principal).ok());  // rotated out

  testing::WriteFileAtomically(path, "bob\n");  // broken
  const Status failed = store->Reload();
  EXPECT_EQ(failed.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(failed.message(), HasSubstr("line 1"));
  ASSERT_TRUE(store->Authenticate(kBobToken, &principal).ok()) << "the old tokens stay";
  EXPECT_EQ(store->size(), 1u);

  std::unique_ptr<TokenStore> missing;
  const Status absent = TokenStore::Load(path + ".missing", &missing);
  EXPECT_EQ(absent.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(absent.message(), HasSubstr("--auth-tokens " + path + ".missing: cannot read"));
}

TEST(CallAuthTest, LoopbackPeers) {
  for (const char* peer :
       {"ipv4:127.0.0.1:5000", "ipv4:127.45.6.7:1", "ipv6:[::1]:5000", "ipv6:%5B::1%5D:5000",
        "ipv6:[::ffff:127.0.0.1]:80", "unix:/tmp/socket", "unix-abstract:name"}) {
    EXPECT_TRUE(IsLoopbackPeer(peer)) << peer;
  }
  for (const char* peer : {"ipv4:192.0.2.2:5000", "ipv4:10.0.0.1:1", "ipv6:[2001:db8::1]:5000",
                           "ipv6:%5Bfe80::1%25eth0%5D:9", "ipv6:[::ffff:10.0.0.1]:80",
                           "ipv4:128.0.0.1:1", "", "garbage", "ipv4:127.0.0.1.evil:1"}) {
    EXPECT_FALSE(IsLoopbackPeer(peer)) << peer;
  }
}

class DecideCallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = TestDataDir() + "/tokens";
    testing::WriteFileAtomically(path,
                                 std::string("alice ") + kAliceToken + "\nbob " + kBobToken + "\n");
    ASSERT_TRUE(TokenStore::Load(path, &tokens_).ok());
    policy_.tokens = tokens_.get();
    policy_.admin_principals = {"bob"};
  }

  static CallFacts Facts(const std::string& peer, bool tls, std::vector<std::string> auth) {
    CallFacts facts;
    facts.peer = peer;
    facts.tls = tls;
    facts.authorization = std::move(auth);
    return facts;
  }

  Status Decide(const CallFacts& facts, Caller* caller) {
    const Status status = DecideCaller(facts, policy_, caller);
    EXPECT_THAT(status.message(), Not(HasSubstr(kAliceToken)));
    EXPECT_THAT(status.message(), Not(HasSubstr(kBobToken)));
    return status;
  }

  std::unique_ptr<TokenStore> tokens_;
  AuthPolicy policy_;
};

TEST_F(DecideCallerTest, WithoutTokensEveryCallerIsTheDefaultPrincipalSeeingAll) {
  Caller caller;
  ASSERT_TRUE(DecideCaller(Facts("ipv4:192.0.2.9:1", false, {}), AuthPolicy(), &caller).ok());
  EXPECT_EQ(caller.principal, "default");
  EXPECT_TRUE(caller.sees_all_jobs);
  EXPECT_TRUE(caller.CanSee("anyone"));
}

TEST_F(DecideCallerTest, ValidTokensNameTheirPrincipalAndAdminsSeeAll) {
  Caller caller;
  const std::string alice = std::string("Bearer ") + kAliceToken;
  ASSERT_TRUE(Decide(Facts("ipv4:127.0.0.1:1", false, {alice}), &caller).ok());
  EXPECT_EQ(caller.principal, "alice");
  EXPECT_FALSE(caller.sees_all_jobs);
  EXPECT_TRUE(caller.CanSee("alice"));
  EXPECT_FALSE(caller.CanSee("bob"));
  // TLS from anywhere; the scheme in any case, with extra spaces.
  ASSERT_TRUE(
      Decide(Facts("ipv4:192.0.2.9:1", true, {std::string("bearer   ") + kBobToken}), &caller)
          .ok());
  EXPECT_EQ(caller.principal, "bob");
  EXPECT_TRUE(caller.sees_all_jobs);
}

TEST_F(DecideCallerTest, RefusalsSayWhy) {
  const std::string alice = std::string("Bearer ") + kAliceToken;
  struct Case {
    CallFacts facts;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {Facts("ipv4:127.0.0.1:1", true, {}), "missing bearer token"},
      {Facts("ipv4:127.0.0.1:1", true, {"Bearer not-a-known-token-000"}),
       "bearer token not recognised"},
      // A valid token, but it came in the clear from another machine.
      {Facts("ipv4:192.0.2.9:1", false, {alice}), "plaintext connection from a non-loopback"},
      {Facts("ipv6:[2001:db8::1]:1", false, {alice}), "plaintext"},
      {Facts("ipv4:127.0.0.1:1", false, {kAliceToken}), "not one 'Bearer <token>' value"},
      {Facts("ipv4:127.0.0.1:1", false, {"Basic " + std::string(kAliceToken)}), "not one"},
      {Facts("ipv4:127.0.0.1:1", false, {"Bearer"}), "not one"},
      {Facts("ipv4:127.0.0.1:1", false, {alice + " " + kBobToken}), "not one"},
      {Facts("ipv4:127.0.0.1:1", false, {alice, alice}), "not one"},
  };
  for (const Case& c : cases) {
    Caller caller;
    const Status status = Decide(c.facts, &caller);
    EXPECT_EQ(status.code(), StatusCode::kUnauthenticated) << c.expected;
    EXPECT_THAT(status.message(), HasSubstr(c.expected));
  }
}

TEST(SecurityOptionsTest, ListeningOffLoopbackNeedsTlsAndTokensOrTheLoudFlag) {
  SecurityOptions none;
  SecurityOptions both;
  both.tls_cert = "c";
  both.tls_key = "k";
  both.auth_tokens = "t";
  SecurityOptions tls_only = both;
  tls_only.auth_tokens.clear();
  std::string warning;
  for (const char* loopback : {"127.0.0.1:0", "localhost:50051", "[::1]:1", "unix:/tmp/s"}) {
    EXPECT_TRUE(server::CheckListenSecurity(loopback, none, &warning).ok()) << loopback;
    EXPECT_EQ(warning, "");
  }
  EXPECT_TRUE(server::CheckListenSecurity("0.0.0.0:50051", both, &warning).ok());
  EXPECT_EQ(warning, "");

  Status refused = server::CheckListenSecurity("0.0.0.0:50051", none, &warning);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("--listen 0.0.0.0:50051 is not a loopback address: it "
                                           "needs TLS (--tls-cert, --tls-key) and bearer tokens "
                                           "(--auth-tokens)"));
  EXPECT_THAT(refused.message(), HasSubstr("--insecure-allow-unauthenticated-remote"));
  refused = server::CheckListenSecurity("[::]:50051", tls_only, &warning);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("needs bearer tokens (--auth-tokens);"));

  none.insecure_allow_unauthenticated_remote = true;
  ASSERT_TRUE(server::CheckListenSecurity("0.0.0.0:50051", none, &warning).ok());
  EXPECT_THAT(warning, HasSubstr("--insecure-allow-unauthenticated-remote: listening on "
                                 "0.0.0.0:50051 without TLS"));
  EXPECT_THAT(warning, HasSubstr("anyone who can reach it"));
}

TEST(SecurityOptionsTest, FlagCombinationsAreChecked) {
  SecurityOptions options;
  options.tls_cert = "c";
  EXPECT_EQ(server::ValidateSecurityOptions(options).message(), "--tls-cert: needs --tls-key");
  options = SecurityOptions();
  options.tls_client_ca = "ca";
  EXPECT_THAT(server::ValidateSecurityOptions(options).message(), HasSubstr("--tls-client-ca"));
  options = SecurityOptions();
  options.admin_principals = {"root"};
  EXPECT_EQ(server::ValidateSecurityOptions(options).message(),
            "--admin-principals: needs --auth-tokens");
  options.auth_tokens = "t";
  EXPECT_TRUE(server::ValidateSecurityOptions(options).ok());
  options.admin_principals = {"ro ot"};
  EXPECT_THAT(server::ValidateSecurityOptions(options).message(), HasSubstr("not a principal"));
}

}  // namespace
}  // namespace sgdspectra::server_test
