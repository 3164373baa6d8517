// TextUtil: small string helpers shared by the CLI's renderers and sweeps.
// Thread-safety: pure functions.
#ifndef SGDSPECTRA_CLIENT_TEXT_UTIL_H_
#define SGDSPECTRA_CLIENT_TEXT_UTIL_H_

#include <cstdio>
#include <string>
#include <vector>

namespace sgdspectra::client {

// printf into a std::string, of any length; "" if the format is invalid. Fixed formats such as
// "%g" and "%.4f" say most plainly what a table or a label prints. Arguments must be
// printf-compatible (pass .c_str() for strings).
template <typename... Args>
std::string StringFormat(const char* format, Args... args) {
  char buffer[512];
  const int length = std::snprintf(buffer, sizeof(buffer), format, args...);
  if (length < 0) return {};
  if (static_cast<size_t>(length) < sizeof(buffer)) return std::string(buffer, length);
  std::string result(length + 1, '\0');
  std::snprintf(result.data(), result.size(), format, args...);
  result.resize(length);
  return result;
}

// "a,,b" -> {"a", "", "b"}; "" -> {""}: every separator splits, empty pieces are kept so that
// callers can refuse them with a message.
inline std::vector<std::string> SplitString(const std::string& text, char separator) {
  std::vector<std::string> pieces;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(separator, start);
    pieces.push_back(text.substr(start, at == std::string::npos ? at : at - start));
    if (at == std::string::npos) return pieces;
    start = at + 1;
  }
}

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_TEXT_UTIL_H_
