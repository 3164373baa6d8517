// The security parts of a server, built from SecurityOptions (server/security_options.h): the
// gRPC server credentials of its listening port (TLS, optionally mutual, with gRPC's own SSL
// implementation) and the per-call authenticator (server/call_auth.h) with its token store.
//
// Certificates and keys are read once, here, and checked with OpenSSL before gRPC sees them, so
// that a wrong file fails the start with a message naming the flag (gRPC itself would only log
// and refuse the port). Thread-safety: free functions without shared state.
#ifndef SGDSPECTRA_SERVER_SECURITY_SETUP_H_
#define SGDSPECTRA_SERVER_SECURITY_SETUP_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "server/call_auth.h"
#include "server/security_options.h"
#include "sgdspectra/core/status.h"

namespace sgdspectra::server {

// Insecure credentials without TLS; SslServerCredentials with the certificate and key, and
// with --tls-client-ca a required, verified client certificate. kInvalidArgument naming the
// flag for a file that cannot be read, holds no PEM certificate / key, or a key that does not
// belong to the certificate.
Status MakeServerCredentials(const SecurityOptions& options,
                             std::shared_ptr<grpc::ServerCredentials>* credentials);

// Loads --auth-tokens (if set) and the admin principals. kInvalidArgument for a token file
// that cannot be read or parsed (server/auth_tokens.h).
Status MakeCallAuthenticator(const SecurityOptions& options,
                             std::unique_ptr<CallAuthenticator>* authenticator);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_SECURITY_SETUP_H_
