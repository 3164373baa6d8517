#include "server/request_decode.h"

namespace sgdspectra::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

class RequestDecodeInterceptor : public grpc::experimental::Interceptor {
 public:
  // `method` is the call's ServerRpcInfo::method(), which outlives the call's interceptors: no
  // copy on every call.
  explicit RequestDecodeInterceptor(const char* method) : method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      request_undecodable_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        request_undecodable_) {
      methods->ModifySendStatus(UndecodableRequestStatus(method_));
    }
    methods->Proceed();
  }

 private:
  const char* const method_;
  bool request_undecodable_ = false;
};

}  // namespace

grpc::Status UndecodableRequestStatus(const std::string& method) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "request: the bytes sent to " + method +
                          " are not a valid protobuf encoding of its request message");
}

grpc::experimental::Interceptor* RequestDecodeInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Only methods whose one request gRPC parses before the handler: in client- and bidi-
  // streaming methods (reflection) a null received message also marks the end of the stream.
  using Type = grpc::experimental::ServerRpcInfo::Type;
  if (info->type() != Type::UNARY && info->type() != Type::SERVER_STREAMING) return nullptr;
  return new RequestDecodeInterceptor(info->method() == nullptr ? "" : info->method());
}

}  // namespace sgdspectra::server
