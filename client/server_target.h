// ServerTarget: what `--server` names (one server or several replicas), and how to reach it.
//
// Accepted forms:
//   HOST:PORT                      one name; gRPC resolves it (DNS), and when it resolves to
//   dns:///HOST:PORT               several addresses (a Kubernetes headless Service) the channel
//                                  balances calls over all of them (round_robin)
//   HOST1:PORT1,HOST2:PORT2,...    an explicit list of replicas; each HOST is resolved here and
//   ipv4:A:P,B:P / ipv6:[A]:P,...  the list becomes one round_robin channel (gRPC's ipv4:/ipv6:
//                                  schemes)
//   unix:PATH and other schemes    passed to gRPC as they are (one endpoint)
//
// A balanced channel spreads *new* calls, so a RunJob stream stays on the replica that accepted
// its job. A job exists only on that replica (the others answer NOT_FOUND), so commands about
// one job (watch, get, cancel, result) first find it with LocateJob() over `endpoints`.
//
// Thread-safety: plain values and free functions; channels are thread-safe.
#ifndef SGDSPECTRA_CLIENT_SERVER_TARGET_H_
#define SGDSPECTRA_CLIENT_SERVER_TARGET_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "client/channel_security.h"

namespace sgdspectra::client {

struct ServerTarget {
  std::string given;           // as the user wrote it
  std::string channel_target;  // the gRPC target URI of the balanced channel
  // Every address a replica may listen on, "HOST:PORT" (IPv6 as "[ADDR]:PORT"), in the order
  // resolved; duplicates removed. One entry when the target cannot be expanded.
  std::vector<std::string> endpoints;
  // TLS and bearer token of every channel to it (set by the caller after parsing; plaintext
  // without a token by default).
  ChannelSecurity security;
  bool several_endpoints() const { return endpoints.size() > 1; }
};

// Parses and resolves `text`. False with *error naming the bad part ("--server: ...") for an
// empty target, an item without a port, or a list mixing IPv4 and IPv6 addresses. A single name
// that does not resolve now is not an error here: gRPC reports it on the first call.
bool ParseServerTarget(const std::string& text, ServerTarget* target, std::string* error);

// A channel over every endpoint of `target` with the round_robin policy, the CLI's message
// size limits and target.security. Creating it does not connect.
std::shared_ptr<grpc::Channel> MakeBalancedChannel(const ServerTarget& target);

// Finds the replica that holds `job_id`: GetJob on each endpoint (deadline `timeout_seconds`
// each). OK with *channel / *endpoint set for the first that knows the job; NOT_FOUND when
// every reachable endpoint answered NOT_FOUND (the message lists how many were asked); else
// the first other error (e.g. UNAVAILABLE when no replica could be reached).
grpc::Status LocateJob(const ServerTarget& target, const std::string& job_id,
                       double timeout_seconds, std::shared_ptr<grpc::Channel>* channel,
                       std::string* endpoint);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_SERVER_TARGET_H_
