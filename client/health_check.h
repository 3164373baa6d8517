// HealthCheck: one call of the standard grpc.health.v1.Health/Check RPC.
//
// The `health` subcommand and the container HEALTHCHECK use it: the server reports SERVING
// while it admits jobs and NOT_SERVING while it drains (SIGTERM).
// Thread-safety: stateless; safe from any thread.
#ifndef SGDSPECTRA_CLIENT_HEALTH_CHECK_H_
#define SGDSPECTRA_CLIENT_HEALTH_CHECK_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "grpc/health/v1/health.pb.h"

namespace sgdspectra::client {

using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

// Asks `channel`'s server for the status of `service` ("" = the server as a whole), waiting at
// most `timeout_seconds` (<= 0: no deadline). On OK, `*serving_status` holds the answer.
grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         double timeout_seconds, ServingStatus* serving_status);

// "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN", "UNKNOWN".
std::string ServingStatusName(ServingStatus status);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_HEALTH_CHECK_H_
