// Call authentication: who is calling, decided once per call from its transport and metadata.
//
// The decision (DecideCaller) is a pure function of CallFacts, so that it is tested without
// gRPC; CallAuthenticator gathers the facts from a grpc::CallbackServerContext and owns the
// token store (server/auth_tokens.h) and the admin principals.
//
// Rules, in order, when the server has tokens (--auth-tokens):
//   1. no `authorization` metadata        -> UNAUTHENTICATED "missing bearer token ..."
//   2. plaintext from a non-loopback peer -> UNAUTHENTICATED "... plaintext ..." (the token has
//      crossed the network in the clear; it is not even looked at)
//   3. not `Bearer <token>`, or several   -> UNAUTHENTICATED "... not 'Bearer <token>'"
//   4. token not in the store             -> UNAUTHENTICATED "bearer token not recognised"
//   5. otherwise the token's principal; it sees every job if it is an admin principal.
// Without tokens every call is Caller::WithoutAuthentication() (no metadata is read). Messages
// never repeat the token. grpc.health.v1 (and reflection) are separate services that never ask.
//
// Thread-safety: DecideCaller and IsLoopbackPeer are pure; CallAuthenticator's methods are
// thread-safe (Authenticate runs concurrently with ReloadTokens).
#ifndef SGDSPECTRA_SERVER_CALL_AUTH_H_
#define SGDSPECTRA_SERVER_CALL_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/auth_tokens.h"
#include "server/caller.h"
#include "server/metrics.h"
#include "sgdspectra/core/status.h"

namespace sgdspectra::server {

// What the decision needs of one call.
struct CallFacts {
  std::string peer;  // grpc's peer URI: "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", "unix:..."
  bool tls = false;  // the connection is TLS (transport_security_type "ssl")
  std::vector<std::string> authorization;  // every `authorization` metadata value sent
};

struct AuthPolicy {
  const TokenStore* tokens = nullptr;  // borrowed; null = no authentication
  std::set<std::string> admin_principals;
};

// True for a loopback peer (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) or a Unix socket; false for
// any other address and for a peer string it cannot read.
bool IsLoopbackPeer(std::string_view peer);

// The rules above. On OK *caller is set.
Status DecideCaller(const CallFacts& facts, const AuthPolicy& policy, Caller* caller);

class CallAuthenticator {
 public:
  // `tokens` null: no authentication. Admin principals are only meaningful with tokens.
  CallAuthenticator(std::unique_ptr<TokenStore> tokens, std::set<std::string> admin_principals);

  // The caller of `context`'s call, or kUnauthenticated. `method` ("GetJob", ...) names the
  // call in the log line of a refusal.
  Status Authenticate(const grpc::CallbackServerContext& context, const char* method,
                      Caller* caller) const;

  // Re-reads the token file (SIGHUP). kFailedPrecondition without --auth-tokens; on a file
  // that no longer parses, the old tokens stay and the error comes back.
  Status ReloadTokens();

  bool checks_tokens() const { return tokens_ != nullptr; }

  // Counts every refusal in `metrics` (borrowed, may be null; must outlive this object). Set
  // before the server starts taking calls.
  void set_metrics(ServerMetrics* metrics) { metrics_ = metrics; }

 private:
  // Every refused call passes here, once: the log line, and the place to count refusals.
  void OnRefused(const CallFacts& facts, const char* method, const Status& status) const;

  const std::unique_ptr<TokenStore> tokens_;
  AuthPolicy policy_;
  ServerMetrics* metrics_ = nullptr;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_CALL_AUTH_H_
