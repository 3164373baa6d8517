#include "server/auth_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <utility>

namespace sgdspectra::server {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool IsPrincipalChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '@' || c == '-';
}

// Visible ASCII: what an HTTP/2 header value carries as it is.
bool IsTokenChar(char c) { return c >= 0x21 && c <= 0x7e; }

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !IsBlank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// What is wrong with one `principal token` pair, or "" when it is well formed. Never quotes
// either field.
std::string CheckPair(std::string_view principal, std::string_view token) {
  if (!IsValidPrincipal(principal)) {
    return "the principal must be 1-" + std::to_string(kMaxPrincipalLength) +
           " characters of A-Z a-z 0-9 . _ @ -";
  }
  if (token.size() < kMinTokenLength || token.size() > kMaxTokenLength) {
    return "the token must be " + std::to_string(kMinTokenLength) + "-" +
           std::to_string(kMaxTokenLength) + " characters long, got " +
           std::to_string(token.size());
  }
  if (!std::all_of(token.begin(), token.end(), IsTokenChar)) {
    return "the token must be visible ASCII characters (0x21-0x7e)";
  }
  return "";
}

}  // namespace

bool IsValidPrincipal(std::string_view principal) {
  return !principal.empty() && principal.size() <= kMaxPrincipalLength &&
         std::all_of(principal.begin(), principal.end(), IsPrincipalChar);
}

TokenDigest DigestOf(std::string_view token) {
  TokenDigest digest{};
  unsigned int length = 0;
  // EVP_Digest cannot fail for SHA-256 on memory input short of an allocation failure, in which
  // case the all-zero digest matches no entry (entries are digests of real tokens).
  EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

Status ParseTokenFile(std::string_view text, const std::string& source,
                      std::vector<TokenEntry>* entries) {
  entries->clear();
  std::map<TokenDigest, size_t> line_of_token;
  size_t line_number = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::vector<std::string_view> fields = Fields(line);
    if (fields.empty() || fields[0].front() == '#') continue;
    const std::string where = source + ": line " + std::to_string(line_number) + ": ";
    if (fields.size() != 2) {
      return Status::InvalidArgument(where + "expected 'PRINCIPAL TOKEN', got " +
                                     std::to_string(fields.size()) + " fields");
    }
    const std::string problem = CheckPair(fields[0], fields[1]);
    if (!problem.empty()) return Status::InvalidArgument(where + problem);
    TokenEntry entry{std::string(fields[0]), DigestOf(fields[1])};
    const auto [it, inserted] = line_of_token.emplace(entry.digest, line_number);
    if (!inserted) {
      return Status::InvalidArgument(where + "the same token as line " +
                                     std::to_string(it->second) +
                                     " (each token names one "
                                     "principal)");
    }
    if (entries->size() == kMaxTokens) {
      return Status::InvalidArgument(source + ": more than " + std::to_string(kMaxTokens) +
                                     " tokens");
    }
    entries->push_back(std::move(entry));
  }
  if (entries->empty()) {
    return Status::InvalidArgument(source + ": holds no 'PRINCIPAL TOKEN' line");
  }
  return Status::Ok();
}

Status TokenStore::ReadEntries(const std::string& path, Entries* entries) {
  const std::string source = "--auth-tokens " + path;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(source + ": cannot read: " + std::strerror(errno));
  std::string text(kMaxTokenFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status::InvalidArgument(source + ": read error");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTokenFileBytes) {
    return Status::InvalidArgument(source + ": larger than " + std::to_string(kMaxTokenFileBytes) +
                                   " bytes");
  }
  return ParseTokenFile(text, source, entries);
}

Status TokenStore::Load(const std::string& path, std::unique_ptr<TokenStore>* store) {
  auto entries = std::make_shared<Entries>();
  const Status status = ReadEntries(path, entries.get());
  if (!status.ok()) return status;
  std::unique_ptr<TokenStore> loaded(new TokenStore(path));
  loaded->entries_ = std::move(entries);
  *store = std::move(loaded);
  return Status::Ok();
}

Status TokenStore::Reload() {
  auto entries = std::make_shared<Entries>();
  const Status status = ReadEntries(path_, entries.get());
  if (!status.ok()) return status;
  std::lock_guard<std::mutex> lock(mutex_);
  entries_ = std::move(entries);
  return Status::Ok();
}

std::shared_ptr<const TokenStore::Entries> TokenStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_;
}

Status TokenStore::Authenticate(std::string_view token, std::string* principal) const {
  const TokenDigest digest = DigestOf(token);
  const std::shared_ptr<const Entries> entries = Snapshot();
  // Every entry is compared, matched or not, so the time taken does not depend on where (or
  // whether) the token is in the list.
  const TokenEntry* match = nullptr;
  for (const TokenEntry& entry : *entries) {
    const bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal && match == nullptr) match = &entry;
  }
  if (match == nullptr) return Status::Unauthenticated("bearer token not recognised");
  *principal = match->principal;
  return Status::Ok();
}

size_t TokenStore::size() const { return Snapshot()->size(); }

}  // namespace sgdspectra::server
