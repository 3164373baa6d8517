#include "server/security_setup.h"

#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

namespace sgdspectra::server {
namespace {

constexpr size_t kMaxPemBytes = 1 << 20;

Status ReadPem(const std::string& flag, const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(flag + " " + path + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  if (text->size() > kMaxPemBytes) {
    return Status::InvalidArgument(flag + " " + path + ": larger than " +
                                   std::to_string(kMaxPemBytes) + " bytes");
  }
  return Status::Ok();
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

Bio BioOf(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::unique_ptr<X509, X509Deleter> FirstCertificate(const std::string& pem) {
  Bio bio = BioOf(pem);
  return std::unique_ptr<X509, X509Deleter>(
      bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

// The certificate, the key, and that they belong together.
Status CheckKeyPair(const SecurityOptions& options, const std::string& cert_pem,
                    const std::string& key_pem) {
  const auto cert = FirstCertificate(cert_pem);
  if (cert == nullptr) {
    return Status::InvalidArgument("--tls-cert " + options.tls_cert + ": no PEM certificate in it");
  }
  Bio bio = BioOf(key_pem);
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (key == nullptr) {
    ERR_clear_error();
    return Status::InvalidArgument("--tls-key " + options.tls_key +
                                   ": no unencrypted PEM private key in it");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("--tls-key " + options.tls_key +
                                   ": not the key of the certificate in --tls-cert " +
                                   options.tls_cert);
  }
  return Status::Ok();
}

}  // namespace

Status MakeServerCredentials(const SecurityOptions& options,
                             std::shared_ptr<grpc::ServerCredentials>* credentials) {
  Status status = ValidateSecurityOptions(options);
  if (!status.ok()) return status;
  if (!options.tls()) {
    *credentials = grpc::InsecureServerCredentials();
    return Status::Ok();
  }
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  status = ReadPem("--tls-cert", options.tls_cert, &pair.cert_chain);
  if (status.ok()) status = ReadPem("--tls-key", options.tls_key, &pair.private_key);
  if (status.ok()) status = CheckKeyPair(options, pair.cert_chain, pair.private_key);
  if (!status.ok()) return status;

  const bool mutual = !options.tls_client_ca.empty();
  grpc::SslServerCredentialsOptions ssl(
      mutual ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
             : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (mutual) {
    status = ReadPem("--tls-client-ca", options.tls_client_ca, &ssl.pem_root_certs);
    if (!status.ok()) return status;
    if (FirstCertificate(ssl.pem_root_certs) == nullptr) {
      ERR_clear_error();
      return Status::InvalidArgument("--tls-client-ca " + options.tls_client_ca +
                                     ": no PEM certificate in it");
    }
  }
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  *credentials = grpc::SslServerCredentials(ssl);
  return Status::Ok();
}

Status MakeCallAuthenticator(const SecurityOptions& options,
                             std::unique_ptr<CallAuthenticator>* authenticator) {
  const Status valid = ValidateSecurityOptions(options);
  if (!valid.ok()) return valid;
  std::unique_ptr<TokenStore> tokens;
  if (options.tokens()) {
    const Status status = TokenStore::Load(options.auth_tokens, &tokens);
    if (!status.ok()) return status;
  }
  *authenticator = std::make_unique<CallAuthenticator>(
      std::move(tokens),
      std::set<std::string>(options.admin_principals.begin(), options.admin_principals.end()));
  return Status::Ok();
}

}  // namespace sgdspectra::server
