#include "server/security_options.h"

#include <CLI/CLI.hpp>
#include <fstream>

#include "server/auth_tokens.h"

namespace sgdspectra::server {
namespace {

constexpr char kInsecureFlag[] = "--insecure-allow-unauthenticated-remote";

// A file that this process can open for reading now (checked at start, so that a typo fails
// the start rather than the first TLS handshake or the first call).
const CLI::Validator& ReadableFile() {
  static const CLI::Validator validator(
      [](std::string& path) -> std::string {
        const std::string missing = CLI::ExistingFile(path);
        if (!missing.empty()) return missing;
        std::ifstream in(path);
        return in ? "" : "cannot open for reading: " + path;
      },
      "FILE");
  return validator;
}

}  // namespace

void AddSecurityFlags(CLI::App* app, SecurityOptions* options) {
  CLI::Option* cert =
      app->add_option("--tls-cert", options->tls_cert,
                      "PEM certificate chain of the server: serve TLS (needs --tls-key)")
          ->check(ReadableFile());
  CLI::Option* key = app->add_option("--tls-key", options->tls_key,
                                     "PEM private key of --tls-cert (keep it mode 0600)")
                         ->check(ReadableFile());
  cert->needs(key);
  key->needs(cert);
  app->add_option("--tls-client-ca", options->tls_client_ca,
                  "PEM CA bundle: clients must present a certificate signed by it (mutual TLS; "
                  "needs --tls-cert)")
      ->check(ReadableFile())
      ->needs(cert);
  CLI::Option* tokens =
      app->add_option("--auth-tokens", options->auth_tokens,
                      "file of 'PRINCIPAL TOKEN' lines: every call must carry "
                      "'authorization: Bearer TOKEN' and sees only its principal's jobs; "
                      "re-read on SIGHUP")
          ->check(ReadableFile());
  app->add_option("--admin-principals", options->admin_principals,
                  "comma-separated principals of --auth-tokens that see every principal's jobs")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& name) -> std::string {
            return IsValidPrincipal(name) ? ""
                                          : "not a principal name (1-64 of A-Z a-z 0-9 . _ @ -)";
          },
          "PRINCIPAL"))
      ->needs(tokens);
  app->add_flag(kInsecureFlag, options->insecure_allow_unauthenticated_remote,
                "allow --listen off loopback without TLS and --auth-tokens: anyone who can reach "
                "the port can submit, read and cancel jobs");
}

Status ValidateSecurityOptions(const SecurityOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Status::InvalidArgument(options.tls_cert.empty() ? "--tls-key: needs --tls-cert"
                                                            : "--tls-cert: needs --tls-key");
  }
  if (!options.tls_client_ca.empty() && !options.tls()) {
    return Status::InvalidArgument("--tls-client-ca: needs --tls-cert and --tls-key");
  }
  if (!options.admin_principals.empty() && !options.tokens()) {
    return Status::InvalidArgument("--admin-principals: needs --auth-tokens");
  }
  for (const std::string& name : options.admin_principals) {
    if (!IsValidPrincipal(name)) {
      return Status::InvalidArgument(
          "--admin-principals: not a principal name (1-64 of A-Z a-z 0-9 . _ @ -)");
    }
  }
  return Status::Ok();
}

bool IsLoopbackListen(const std::string& listen) {
  for (const char* prefix : {"127.", "localhost:", "[::1]:", "unix:", "unix-abstract:"}) {
    if (listen.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

Status CheckListenSecurity(const std::string& listen, const SecurityOptions& options,
                           std::string* warning) {
  warning->clear();
  if (IsLoopbackListen(listen) || (options.tls() && options.tokens())) return Status::Ok();
  std::string missing;
  if (!options.tls()) missing = "TLS (--tls-cert, --tls-key)";
  if (!options.tokens())
    missing += std::string(missing.empty() ? "" : " and ") + "bearer tokens (--auth-tokens)";
  if (options.insecure_allow_unauthenticated_remote) {
    *warning = std::string(kInsecureFlag) + ": listening on " + listen + " without " + missing +
               ": anyone who can reach it can submit, read and cancel jobs" +
               (options.tls() ? "" : ", and every byte crosses the network in the clear");
    return Status::Ok();
  }
  return Status::FailedPrecondition("--listen " + listen + " is not a loopback address: it needs " +
                                    missing + "; to listen there without them anyway, add " +
                                    kInsecureFlag);
}

}  // namespace sgdspectra::server
