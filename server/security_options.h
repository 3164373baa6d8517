// SecurityOptions: TLS, bearer tokens and admin principals of sgdspectra-server (part of
// ServerOptions), their flags, and the start-up rule about where the server may listen.
//
// Flags (validated when parsed: files exist and are readable; --tls-cert and --tls-key
// together; --tls-client-ca and --admin-principals only with what they refine):
//   --tls-cert FILE --tls-key FILE    PEM certificate chain and key: serve TLS
//   --tls-client-ca FILE              PEM CA bundle: clients must present a certificate it signed
//   --auth-tokens FILE                `PRINCIPAL TOKEN` lines (server/auth_tokens.h); re-read on
//                                     SIGHUP
//   --admin-principals A,B            principals that see every principal's jobs
//   --insecure-allow-unauthenticated-remote
//                                     listen off loopback without TLS and tokens anyway
//
// Listening rule (CheckListenSecurity, applied by SpectraServer::Start): a --listen address that
// is not loopback needs both TLS and tokens, unless the insecure flag says otherwise; then the
// server starts with a warning. Plain values; thread-safe to read.
#ifndef SGDSPECTRA_SERVER_SECURITY_OPTIONS_H_
#define SGDSPECTRA_SERVER_SECURITY_OPTIONS_H_

#include <string>
#include <vector>

#include "sgdspectra/core/status.h"

namespace CLI {
class App;
}

namespace sgdspectra::server {

struct SecurityOptions {
  std::string tls_cert;       // PEM file; with tls_key, the server speaks TLS only
  std::string tls_key;        // PEM file
  std::string tls_client_ca;  // PEM file; set = mutual TLS (a client certificate is required)
  std::string auth_tokens;    // token file; empty = no authentication (one default principal)
  std::vector<std::string> admin_principals;  // see every job; needs auth_tokens
  bool insecure_allow_unauthenticated_remote = false;

  bool tls() const { return !tls_cert.empty() || !tls_key.empty(); }
  bool tokens() const { return !auth_tokens.empty(); }
};

// Registers the flags above on `app`, writing into *options.
void AddSecurityFlags(CLI::App* app, SecurityOptions* options);

// The combinations the flags cannot express, for options built in code (tests) as well as from
// flags: --tls-cert and --tls-key together, --tls-client-ca with them, admin principals well
// formed and with --auth-tokens. kInvalidArgument naming the flag.
Status ValidateSecurityOptions(const SecurityOptions& options);

// True for 127.0.0.0/8, localhost, [::1] and unix: addresses of --listen.
bool IsLoopbackListen(const std::string& listen);

// The listening rule above. OK when the server may start; *warning is then set (non-empty)
// when it starts only because of --insecure-allow-unauthenticated-remote. kFailedPrecondition
// naming what is missing otherwise.
Status CheckListenSecurity(const std::string& listen, const SecurityOptions& options,
                           std::string* warning);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_SECURITY_OPTIONS_H_
