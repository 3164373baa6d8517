#include "server/fd_limit.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sgdspectra::server {
namespace {

std::string LimitText(rlim_t value) {
  return value == RLIM_INFINITY ? std::string("unlimited") : std::to_string(value);
}

}  // namespace

long RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("open files: cannot read RLIMIT_NOFILE: {}", std::strerror(errno));
    return -1;
  }
  const rlim_t before = limit.rlim_cur;
  if (limit.rlim_cur != limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      spdlog::warn("open files: cannot raise the soft limit {} to the hard limit {}: {}",
                   LimitText(before), LimitText(limit.rlim_max), std::strerror(errno));
      limit.rlim_cur = before;
    }
  }
  spdlog::info("open files: soft limit {} (was {}), hard limit {}", LimitText(limit.rlim_cur),
               LimitText(before), LimitText(limit.rlim_max));
  return limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long>(limit.rlim_cur);
}

}  // namespace sgdspectra::server
