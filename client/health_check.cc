#include "client/health_check.h"

#include "client/connection.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace sgdspectra::client {

grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                         double timeout_seconds, ServingStatus* serving_status) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  SetDeadlineAfter(&context, timeout_seconds);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (status.ok()) *serving_status = response.status();
  return status;
}

std::string ServingStatusName(ServingStatus status) {
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(status);
}

}  // namespace sgdspectra::client
