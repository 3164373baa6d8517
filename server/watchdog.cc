#include "server/watchdog.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace sgdspectra::server {
namespace {

// The host of a "HOST:PORT" listen address, with wildcards replaced by loopback.
std::string ProbeHost(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "0.0.0.0" || host == "*") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

// A socket connected to host:port within the deadline (non-blocking connect), or -1.
int ConnectWithin(const std::string& host, int port, int timeout_ms, std::string* error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addresses);
  if (rc != 0) {
    *error = std::string("resolve ") + host + ": " + gai_strerror(rc);
    return -1;
  }
  const int fd = socket(addresses->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    freeaddrinfo(addresses);
    return -1;
  }
  int result = connect(fd, addresses->ai_addr, addresses->ai_addrlen);
  freeaddrinfo(addresses);
  if (result != 0 && errno == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    int so_error = ETIMEDOUT;
    socklen_t length = sizeof(so_error);
    if (poll(&pfd, 1, timeout_ms) == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
    errno = so_error;
    result = so_error == 0 ? 0 : -1;
  }
  if (result != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

Status ProbeListener(const std::string& listen, int port, std::chrono::milliseconds timeout) {
  const std::string host = ProbeHost(listen);
  const std::string where = host + ":" + std::to_string(port);
  std::string error;
  const int fd = ConnectWithin(host, port, static_cast<int>(timeout.count()), &error);
  if (fd < 0) return Status::Unavailable("listener probe " + where + ": " + error);
  static constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const bool sent = send(fd, kPreface, sizeof(kPreface) - 1, MSG_NOSIGNAL) > 0;
  pollfd pfd{fd, POLLIN, 0};
  const bool answered = sent && poll(&pfd, 1, static_cast<int>(timeout.count())) == 1;
  close(fd);
  if (!answered) {
    return Status::Unavailable("listener probe " + where + ": no answer within " +
                               std::to_string(timeout.count()) + " ms");
  }
  return Status::Ok();
}

Watchdog::Watchdog(const WatchdogOptions& options, WatchdogHooks hooks)
    : options_(options), hooks_(std::move(hooks)) {
  thread_ = std::thread([this] { Loop(); });
}

Watchdog::~Watchdog() { Stop(); }

void Watchdog::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_requested_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_requested_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
    lock.unlock();
    Tick();
    lock.lock();
  }
}

void Watchdog::Tick() {
  if (hooks_.check_store) {
    const Status store = hooks_.check_store();
    if (hooks_.report_store) hooks_.report_store(store.ok());
  }
  if (!hooks_.probe_listener || listener_dead_) return;
  const Status listener = hooks_.probe_listener();
  failed_probes_ = listener.ok() ? 0 : failed_probes_ + 1;
  if (failed_probes_ < options_.listener_failures) return;
  listener_dead_ = true;
  if (hooks_.on_listener_dead) {
    hooks_.on_listener_dead(listener.message() + " (" + std::to_string(failed_probes_) +
                            " probes in a row)");
  }
}

}  // namespace sgdspectra::server
