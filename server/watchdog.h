// Watchdog: a thread that checks, every interval, two conditions a server cannot see from its
// requests alone, and reports them (SpectraServer turns them into health and, for the second,
// a restart):
//
// - The store can write. While a write fails (disk full: SQLite's SQLITE_FULL, I/O errors)
//   the server is NOT_SERVING; each tick then probes with a real write, and the server is
//   SERVING again once one succeeds (hooks.check_store).
// - The listener accepts connections. gRPC 1.51 stops accepting for good once accept() fails
//   with anything but EAGAIN/ECONNABORTED/EINTR, e.g. EMFILE "Too many open files": its POSIX
//   TCP server does not re-arm the listening socket (fixed upstream only in later releases).
//   The kernel still completes TCP handshakes into the backlog, so a bare connect() proves
//   nothing; hooks.probe_listener (ProbeListener below) needs an answer from the server
//   process. After `listener_failures` failed probes in a row the watchdog calls
//   hooks.on_listener_dead once and stops probing: the process should go NOT_SERVING and exit
//   non-zero so that its supervisor restarts it (nothing in-process can re-open the port).
//
// Ownership: owns its thread; the destructor (or Stop) joins it. The hooks must stay callable
// until then. Thread-safety: Stop is thread-safe; the hooks run on the watchdog's thread.
#ifndef SGDSPECTRA_SERVER_WATCHDOG_H_
#define SGDSPECTRA_SERVER_WATCHDOG_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "sgdspectra/core/status.h"

namespace sgdspectra::server {

struct WatchdogOptions {
  std::chrono::milliseconds interval{5000};  // between ticks, > 0
  int listener_failures = 3;                 // failed listener probes in a row that are fatal
};

struct WatchdogHooks {
  std::function<Status()> check_store;     // OK when the store can write; may block
  std::function<Status()> probe_listener;  // OK when the listener answered; null = no probe
  std::function<void(bool store_ok)> report_store;  // after every check_store
  std::function<void(const std::string& why)> on_listener_dead;
};

class Watchdog {
 public:
  Watchdog(const WatchdogOptions& options, WatchdogHooks hooks);
  ~Watchdog();  // Stop()
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Ends the thread (after its current check) and joins it. Idempotent.
  void Stop();

 private:
  void Loop();
  void Tick();

  const WatchdogOptions options_;
  const WatchdogHooks hooks_;
  int failed_probes_ = 0;       // the thread's own
  bool listener_dead_ = false;  // the thread's own
  std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;
  std::thread thread_;
};

// Connects to host:port (a wildcard host means this machine), sends the HTTP/2 client preface
// and waits up to `timeout` for any answer: bytes (a plaintext server's SETTINGS) or the
// connection closed by the server (a TLS server refusing a non-TLS hello). Both prove that the
// server process accepted the connection; silence does not. Works for plaintext and TLS ports
// without credentials. kUnavailable with the reason otherwise.
Status ProbeListener(const std::string& listen, int port, std::chrono::milliseconds timeout);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_WATCHDOG_H_
