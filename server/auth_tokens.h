// TokenStore: the bearer tokens of --auth-tokens, kept as SHA-256 digests, and the check of a
// presented token against them.
//
// The file holds one `PRINCIPAL TOKEN` pair per line, separated by spaces or tabs; blank lines
// and lines whose first non-blank character is `#` are ignored. A principal may appear on several
// lines (old and new token during a rotation); a token may not (it would name two principals).
// Bounds: principal 1-64 characters of [A-Za-z0-9._@-]; token 16-1024 visible ASCII characters
// (0x21-0x7e, what an HTTP/2 header value carries unescaped); at most 10000 tokens and 1 MiB.
// A malformed line is refused with its line number and the rule it breaks; no message ever
// repeats a token (nor a principal field, which may be a token pasted into the wrong column).
//
// Only digests are kept in memory; a presented token is digested and compared with every entry
// in constant time (CRYPTO_memcmp over equal-length digests), so neither the comparison nor the
// entry scanned first tells an attacker how close a guess was.
//
// Reload() re-reads the file (SIGHUP): the new set replaces the old one atomically, or, if the
// file no longer parses, the old set stays and the error comes back.
//
// Ownership: the store owns its entries. Thread-safety: every method is thread-safe;
// Authenticate() runs concurrently with Reload() (readers take a snapshot of the set).
#ifndef SGDSPECTRA_SERVER_AUTH_TOKENS_H_
#define SGDSPECTRA_SERVER_AUTH_TOKENS_H_

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sgdspectra/core/status.h"

namespace sgdspectra::server {

using TokenDigest = std::array<unsigned char, 32>;  // SHA-256

struct TokenEntry {
  std::string principal;
  TokenDigest digest;
};

inline constexpr size_t kMinTokenLength = 16;
inline constexpr size_t kMaxTokenLength = 1024;
inline constexpr size_t kMaxPrincipalLength = 64;
inline constexpr size_t kMaxTokens = 10000;
inline constexpr size_t kMaxTokenFileBytes = 1 << 20;

// SHA-256 of `token` (OpenSSL's libcrypto).
TokenDigest DigestOf(std::string_view token);

// 1-64 characters of [A-Za-z0-9._@-].
bool IsValidPrincipal(std::string_view principal);

// Parses the text of a token file. `source` starts every error message (e.g. "--auth-tokens
// /etc/sgdspectra/tokens"), followed by ": line N: ..." for a bad line. kInvalidArgument.
Status ParseTokenFile(std::string_view text, const std::string& source,
                      std::vector<TokenEntry>* entries);

class TokenStore {
 public:
  // Reads and parses `path`; kInvalidArgument naming --auth-tokens and the path if it cannot be
  // read or does not parse.
  static Status Load(const std::string& path, std::unique_ptr<TokenStore>* store);
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Re-reads the file. On success the new tokens replace the old ones; on failure nothing
  // changes and the status says why.
  Status Reload();

  // The principal whose token `token` is; kUnauthenticated ("bearer token not recognised")
  // otherwise.
  Status Authenticate(std::string_view token, std::string* principal) const;

  size_t size() const;  // tokens in the current set
  const std::string& path() const { return path_; }

 private:
  using Entries = std::vector<TokenEntry>;
  explicit TokenStore(std::string path) : path_(std::move(path)) {}
  static Status ReadEntries(const std::string& path, Entries* entries);
  std::shared_ptr<const Entries> Snapshot() const;

  const std::string path_;
  mutable std::mutex mutex_;                // guards entries_ (the pointer, not what it points to)
  std::shared_ptr<const Entries> entries_;  // never null after Load
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_AUTH_TOKENS_H_
