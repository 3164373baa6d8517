#include "client/channel_security.h"

#include <arpa/inet.h>
#include <grpcpp/support/client_interceptor.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

namespace sgdspectra::client {
namespace {

constexpr size_t kMaxTokenBytes = 4096;
constexpr size_t kMaxPemBytes = 1 << 20;

bool ReadFile(const std::string& flag, const std::string& path, size_t limit, std::string* text,
              std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = flag + ": cannot read " + path;
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  if (text->size() > limit) {
    *error = flag + ": " + path + " is larger than " + std::to_string(limit) + " bytes";
    return false;
  }
  return true;
}

// The token without surrounding whitespace; false (with *error naming `source`) if it is not
// one non-empty run of visible ASCII. Never quotes the token.
bool CleanToken(const std::string& source, std::string text, std::string* token,
                std::string* error) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  const size_t last = text.find_last_not_of(" \t\r\n");
  text = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  if (text.empty() || text.size() > kMaxTokenBytes) {
    *error = source + ": the token must be 1-" + std::to_string(kMaxTokenBytes) + " characters";
    return false;
  }
  for (const char c : text) {
    if (c < 0x21 || c > 0x7e) {
      *error = source + ": the token must be one line of visible ASCII characters";
      return false;
    }
  }
  *token = std::move(text);
  return true;
}

bool LoadToken(const SecurityFlags& flags, std::string* token, std::string* error) {
  if (!flags.token_file.empty()) {
    std::string text;
    return ReadFile("--token-file", flags.token_file, kMaxTokenBytes + 64, &text, error) &&
           CleanToken("--token-file " + flags.token_file, std::move(text), token, error);
  }
  const char* from_environment = std::getenv("SGDSPECTRA_TOKEN");
  if (from_environment == nullptr) return true;  // no token
  return CleanToken("SGDSPECTRA_TOKEN", from_environment, token, error);
}

bool IsLoopbackEndpoint(const std::string& endpoint) {
  if (endpoint.rfind("unix:", 0) == 0 || endpoint.rfind("unix-abstract:", 0) == 0) return true;
  if (endpoint.rfind("localhost:", 0) == 0) return true;
  std::string host = endpoint.substr(0, endpoint.rfind(':'));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    in6_addr address;
    return inet_pton(AF_INET6, host.c_str(), &address) == 1 && IN6_IS_ADDR_LOOPBACK(&address);
  }
  in_addr address;
  return inet_pton(AF_INET, host.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

// Adds the bearer token to the initial metadata of every call on the channel.
class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", *value_});
    }
    methods->Proceed();
  }

 private:
  const std::string* const value_;  // owned by the factory, which the channel keeps
};

class BearerTokenInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token) : value_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BearerTokenInterceptor(&value_);
  }

 private:
  const std::string value_;
};

}  // namespace

bool LoadChannelSecurity(const SecurityFlags& flags, ChannelSecurity* security,
                         std::string* error) {
  *security = ChannelSecurity();
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    *error = flags.tls_cert.empty() ? "--tls-key: needs --tls-cert" : "--tls-cert: needs --tls-key";
    return false;
  }
  security->tls = flags.tls || !flags.tls_ca.empty() || !flags.tls_cert.empty();
  security->server_name = flags.tls_server_name;
  if (!flags.tls_server_name.empty() && !security->tls) {
    *error = "--tls-server-name: needs TLS (--tls-ca or --tls)";
    return false;
  }
  if (!flags.tls_ca.empty() &&
      !ReadFile("--tls-ca", flags.tls_ca, kMaxPemBytes, &security->root_certs, error)) {
    return false;
  }
  if (!flags.tls_cert.empty() &&
      (!ReadFile("--tls-cert", flags.tls_cert, kMaxPemBytes, &security->client_cert, error) ||
       !ReadFile("--tls-key", flags.tls_key, kMaxPemBytes, &security->client_key, error))) {
    return false;
  }
  return LoadToken(flags, &security->token, error);
}

bool CheckTokenTransport(const std::vector<std::string>& endpoints, const ChannelSecurity& security,
                         std::string* error) {
  if (security.token.empty() || security.tls) return true;
  for (const std::string& endpoint : endpoints) {
    if (!IsLoopbackEndpoint(endpoint)) {
      *error = "refusing to send the bearer token in plaintext to " + endpoint +
               ", which is not a loopback address: use TLS (--tls-ca FILE, or --tls)";
      return false;
    }
  }
  return true;
}

std::shared_ptr<grpc::Channel> MakeSecureChannel(const std::string& target,
                                                 const ChannelSecurity& security,
                                                 grpc::ChannelArguments args) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (security.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = security.root_certs;
    ssl.pem_cert_chain = security.client_cert;
    ssl.pem_private_key = security.client_key;
    credentials = grpc::SslCredentials(ssl);
    if (!security.server_name.empty()) {
      args.SetSslTargetNameOverride(security.server_name);
    }
  }
  if (security.token.empty()) return grpc::CreateCustomChannel(target, credentials, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<BearerTokenInterceptorFactory>(security.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args,
                                                                 std::move(factories));
}

}  // namespace sgdspectra::client
