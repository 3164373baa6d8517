// The one place where a core Status becomes a gRPC status: the job manager and the service's
// own checks return sgdspectra::Status, and the service hands every one to gRPC through here.
#ifndef SGDSPECTRA_SERVER_STATUS_MAP_H_
#define SGDSPECTRA_SERVER_STATUS_MAP_H_

#include <grpcpp/support/status.h>

#include "sgdspectra/core/status.h"

namespace sgdspectra::server {

// kInvalidArgument -> INVALID_ARGUMENT, kCancelled -> CANCELLED, kResourceExhausted ->
// RESOURCE_EXHAUSTED, kFailedPrecondition -> FAILED_PRECONDITION, kNotFound -> NOT_FOUND,
// kUnavailable -> UNAVAILABLE, kUnauthenticated -> UNAUTHENTICATED, kNumericalError and
// kInternal -> INTERNAL. The message is passed through unchanged, so a validation message still
// starts with the field path. Pure function.
grpc::Status ToGrpcStatus(const Status& status);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_STATUS_MAP_H_
