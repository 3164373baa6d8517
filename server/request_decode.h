// Undecodable requests: INVALID_ARGUMENT with a message, instead of gRPC's bare UNIMPLEMENTED.
//
// Why an interceptor: on gRPC 1.51 the callback handlers answer a request whose bytes do not
// parse as the method's message with UNIMPLEMENTED and an empty message, before any service code
// runs (grpcpp/impl/codegen/server_callback_handlers.h). A client then cannot tell "this server
// lacks the method" from "my bytes are wrong". The server's interceptor sees the same call: at
// POST_RECV_MESSAGE the received message is null exactly when deserialization failed, and at
// PRE_SEND_STATUS it rewrites that call's status. Calls whose request parsed are never touched,
// and client- or bidi-streaming calls (reflection) get no interceptor: for them a null message
// is also the normal end of the client's stream.
//
// Thread-safety: one interceptor per call, driven by gRPC one hook batch at a time; the factory is
// stateless.
#ifndef SGDSPECTRA_SERVER_REQUEST_DECODE_H_
#define SGDSPECTRA_SERVER_REQUEST_DECODE_H_

#include <grpcpp/support/server_interceptor.h>

#include <string>

namespace sgdspectra::server {

// The status sent for an undecodable request to `method` ("/sgdspectra.v1.SgdSpectra/SubmitJob").
grpc::Status UndecodableRequestStatus(const std::string& method);

class RequestDecodeInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_REQUEST_DECODE_H_
