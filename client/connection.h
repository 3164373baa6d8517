// Connection: how the CLI reaches a server, and how it reports an RPC that failed.
//
// MakeChannel() builds a channel with the same explicit message-size limits as the server
// (64 MiB), so a JobResult that the server may send is never refused by the client; plaintext or
// TLS, with or without a bearer token, as ChannelSecurity says (client/channel_security.h).
// All functions are thread-safe; a Channel may be shared by any number of threads.
#ifndef SGDSPECTRA_CLIENT_CONNECTION_H_
#define SGDSPECTRA_CLIENT_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "client/channel_security.h"

namespace sgdspectra::client {

// Largest message the CLI sends or receives; matches the server's limit.
inline constexpr int kMaxMessageBytes = 64 * 1024 * 1024;

// Default server address, overridden by --server or the SGDSPECTRA_SERVER environment variable.
inline constexpr const char kDefaultServerAddress[] = "127.0.0.1:50051";

// A channel to `address` ("HOST:PORT"). Creating it does not connect; the first RPC does.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelSecurity& security);

// Sets a deadline `seconds` from now on `context`; seconds <= 0 leaves the call unbounded.
void SetDeadlineAfter(grpc::ClientContext* context, double seconds);

// "INVALID_ARGUMENT", "NOT_FOUND", ...: the canonical name of a gRPC status code.
std::string StatusCodeName(grpc::StatusCode code);

// "INVALID_ARGUMENT: kgmm.dim: must be in [2, 100000], got 1": the line printed after "error: ".
std::string FormatRpcError(const grpc::Status& status);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_CONNECTION_H_
