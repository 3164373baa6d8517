// grpc.health.v1: SERVING while up, NOT_SERVING once draining.
#include <gtest/gtest.h>

#include "child_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server_test_util.h"

namespace sgdspectra::server_test {
namespace {

using HealthStatus = grpc::health::v1::HealthCheckResponse;

HealthStatus::ServingStatus Check(const std::string& address, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthStatus response;
  const grpc::Status status = stub->Check(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.status();
}

TEST(HealthTest, ServingUntilTheServerDrains) {
  InProcessServer server(TestDataDir());
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(Check(server.address(), ""), HealthStatus::SERVING);
  EXPECT_EQ(Check(server.address(), "sgdspectra.v1.SgdSpectra"), HealthStatus::SERVING);
  server.server()->BeginDrain();
  EXPECT_EQ(Check(server.address(), ""), HealthStatus::NOT_SERVING);
  EXPECT_EQ(Check(server.address(), "sgdspectra.v1.SgdSpectra"), HealthStatus::NOT_SERVING);
}

}  // namespace
}  // namespace sgdspectra::server_test
