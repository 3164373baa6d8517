// StringFormat: printf into a std::string, for the figures' labels and titles, where fixed
// formats such as "%g" and "%.4f" say most plainly what is printed.
#ifndef SGDSPECTRA_CLIENT_PLOT_STRING_FORMAT_H_
#define SGDSPECTRA_CLIENT_PLOT_STRING_FORMAT_H_

#include <cstdio>
#include <string>

namespace sgdspectra::client::plot {

// Any length; "" if the format is invalid. Arguments must be printf-compatible (use .c_str()).
template <typename... Args>
std::string StringFormat(const char* format, Args... args) {
  char buffer[256];
  const int length = std::snprintf(buffer, sizeof(buffer), format, args...);
  if (length < 0) return {};
  if (static_cast<size_t>(length) < sizeof(buffer)) return std::string(buffer, length);
  std::string result(length + 1, '\0');
  std::snprintf(result.data(), result.size(), format, args...);
  result.resize(length);
  return result;
}

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_STRING_FORMAT_H_
