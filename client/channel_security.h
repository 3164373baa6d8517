// ChannelSecurity: how the CLI protects its channels and proves who it is.
//
// TLS: gRPC's SSL credentials, with the server checked against --tls-ca (PEM roots; gRPC's
// default roots with a bare --tls) under its name in --server, or --tls-server-name; with
// --tls-cert/--tls-key the client presents its own certificate (mutual TLS).
// Token: `authorization: Bearer <token>` metadata on every call, added by a client interceptor
// so that every channel of the CLI (balanced, per replica, health) carries it. The token comes
// from --token-file (or $SGDSPECTRA_TOKEN_FILE), else $SGDSPECTRA_TOKEN, never from a flag value
// that other users could read in `ps`.
//
// A token is never sent in plaintext off the machine: CheckTokenTransport refuses a token
// without TLS unless every endpoint is loopback (the server would refuse it anyway, after it
// had crossed the network in the clear).
//
// Thread-safety: plain values and free functions; channels are thread-safe.
#ifndef SGDSPECTRA_CLIENT_CHANNEL_SECURITY_H_
#define SGDSPECTRA_CLIENT_CHANNEL_SECURITY_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

namespace sgdspectra::client {

// The flags and environment as given (file names, not contents).
struct SecurityFlags {
  bool tls = false;
  std::string tls_ca;           // --tls-ca / SGDSPECTRA_TLS_CA
  std::string tls_cert;         // --tls-cert / SGDSPECTRA_TLS_CERT
  std::string tls_key;          // --tls-key / SGDSPECTRA_TLS_KEY
  std::string tls_server_name;  // --tls-server-name / SGDSPECTRA_TLS_SERVER_NAME
  std::string token_file;       // --token-file / SGDSPECTRA_TOKEN_FILE
};

// What the channels use: file contents, resolved.
struct ChannelSecurity {
  bool tls = false;
  std::string root_certs;   // PEM; empty with tls = gRPC's default roots
  std::string client_cert;  // PEM chain; with client_key, presented to the server
  std::string client_key;   // PEM
  std::string server_name;  // the name the server certificate must carry; empty = the target's
  std::string token;        // sent as a bearer token on every call; empty = none
};

// Reads the files of `flags`, and the token from flags.token_file or else $SGDSPECTRA_TOKEN.
// False with *error naming the flag (or variable) for an unreadable file, a certificate without
// its key (or the reverse), or a token that is empty, longer than 4096 bytes or holds anything
// but visible ASCII (one line; surrounding whitespace and a final newline are dropped).
bool LoadChannelSecurity(const SecurityFlags& flags, ChannelSecurity* security, std::string* error);

// False with *error when `security` carries a token without TLS and an endpoint is not
// loopback (127.0.0.0/8, ::1, localhost, unix:).
bool CheckTokenTransport(const std::vector<std::string>& endpoints, const ChannelSecurity& security,
                         std::string* error);

// A channel to `target` with `args`, TLS and the bearer token of `security`.
std::shared_ptr<grpc::Channel> MakeSecureChannel(const std::string& target,
                                                 const ChannelSecurity& security,
                                                 grpc::ChannelArguments args);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_CHANNEL_SECURITY_H_
