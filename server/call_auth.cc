#include "server/call_auth.h"

#include <arpa/inet.h>
#include <grpc/grpc_security_constants.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstring>
#include <utility>

namespace sgdspectra::server {
namespace {

constexpr std::string_view kBearer = "bearer";

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// "[::1]:5000" or "%5B::1%5D:5000" -> "::1"; "" when it is not bracketed.
std::string Ipv6Host(std::string_view address) {
  std::string text(address);
  for (const char* escaped : {"%5B", "%5b"}) {
    if (StartsWith(text, escaped)) text.replace(0, 3, "[");
  }
  for (const char* escaped : {"%5D", "%5d"}) {
    const size_t at = text.find(escaped);
    if (at != std::string::npos) text.replace(at, 3, "]");
  }
  const size_t close = text.find(']');
  if (text.empty() || text[0] != '[' || close == std::string::npos) return "";
  std::string host = text.substr(1, close - 1);
  const size_t zone = host.find('%');  // "fe80::1%eth0"
  if (zone != std::string::npos) host.resize(zone);
  return host;
}

bool IsLoopbackIpv4(const unsigned char* bytes) { return bytes[0] == 127; }

// The token of "Bearer <token>" (scheme in any case, one or more spaces); false otherwise.
bool BearerToken(std::string_view value, std::string_view* token) {
  if (value.size() <= kBearer.size()) return false;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kBearer[i]) return false;
  }
  std::string_view rest = value.substr(kBearer.size());
  if (rest.empty() || rest[0] != ' ') return false;
  while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (rest.empty() || rest.find(' ') != std::string_view::npos) return false;
  *token = rest;
  return true;
}

}  // namespace

bool IsLoopbackPeer(std::string_view peer) {
  if (StartsWith(peer, "unix:") || StartsWith(peer, "unix-abstract:")) return true;
  if (StartsWith(peer, "ipv4:")) {
    const std::string_view address = peer.substr(5);
    const std::string host(address.substr(0, address.rfind(':')));
    unsigned char bytes[4];
    return inet_pton(AF_INET, host.c_str(), bytes) == 1 && IsLoopbackIpv4(bytes);
  }
  if (StartsWith(peer, "ipv6:")) {
    const std::string host = Ipv6Host(peer.substr(5));
    unsigned char bytes[16];
    if (host.empty() || inet_pton(AF_INET6, host.c_str(), bytes) != 1) return false;
    static const unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes, kLoopback, 16) == 0) return true;
    return std::memcmp(bytes, kMappedPrefix, 12) == 0 && IsLoopbackIpv4(bytes + 12);
  }
  return false;
}

Status DecideCaller(const CallFacts& facts, const AuthPolicy& policy, Caller* caller) {
  if (policy.tokens == nullptr) {
    *caller = Caller::WithoutAuthentication();
    return Status::Ok();
  }
  if (facts.authorization.empty()) {
    return Status::Unauthenticated(
        "missing bearer token: this server needs 'authorization: Bearer <token>' metadata "
        "(sgdspectra CLI: SGDSPECTRA_TOKEN or --token-file)");
  }
  if (!facts.tls && !IsLoopbackPeer(facts.peer)) {
    return Status::Unauthenticated(
        "bearer token refused: it was sent over a plaintext connection from a non-loopback "
        "address (" +
        facts.peer +
        "); connect with TLS and replace the token, which has crossed the network "
        "in the clear");
  }
  std::string_view token;
  if (facts.authorization.size() != 1 || !BearerToken(facts.authorization[0], &token)) {
    return Status::Unauthenticated("authorization metadata is not one 'Bearer <token>' value");
  }
  std::string principal;
  const Status status = policy.tokens->Authenticate(token, &principal);
  if (!status.ok()) return status;
  caller->sees_all_jobs = policy.admin_principals.count(principal) > 0;
  caller->principal = std::move(principal);
  return Status::Ok();
}

CallAuthenticator::CallAuthenticator(std::unique_ptr<TokenStore> tokens,
                                     std::set<std::string> admin_principals)
    : tokens_(std::move(tokens)) {
  policy_.tokens = tokens_.get();
  policy_.admin_principals = std::move(admin_principals);
}

Status CallAuthenticator::Authenticate(const grpc::CallbackServerContext& context,
                                       const char* method, Caller* caller) const {
  if (tokens_ == nullptr) {
    *caller = Caller::WithoutAuthentication();
    return Status::Ok();
  }
  CallFacts facts;
  facts.peer = context.peer();
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) {
    for (const grpc::string_ref& type :
         auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME)) {
      if (type == GRPC_SSL_TRANSPORT_SECURITY_TYPE) facts.tls = true;
    }
  }
  const auto range = context.client_metadata().equal_range("authorization");
  for (auto it = range.first; it != range.second; ++it) {
    facts.authorization.emplace_back(it->second.data(), it->second.size());
  }
  const Status status = DecideCaller(facts, policy_, caller);
  if (!status.ok()) OnRefused(facts, method, status);
  return status;
}

void CallAuthenticator::OnRefused(const CallFacts& facts, const char* method,
                                  const Status& status) const {
  spdlog::warn("refused {} from {}{}: {}", method, facts.peer, facts.tls ? " (TLS)" : "",
               status.message());
  if (metrics_ != nullptr) metrics_->RecordAuthFailure();
}

Status CallAuthenticator::ReloadTokens() {
  if (tokens_ == nullptr) {
    return Status::FailedPrecondition("no --auth-tokens file to reload");
  }
  return tokens_->Reload();
}

}  // namespace sgdspectra::server
