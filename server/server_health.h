// ServerHealth: the server's grpc.health.v1 status and its watchdog (server/watchdog.h).
//
// SERVING only while the server is not draining, its store can write, and its listener still
// accepts connections. A store that cannot write (disk full) makes it NOT_SERVING until a
// probe write succeeds; a listener found dead makes it NOT_SERVING for good and records the
// failure, then runs the failure handler once (main's raises SIGTERM: the server drains and
// exits 2, and its supervisor restarts it).
//
// Ownership: borrows the health service and the store, which must outlive it (StopWatchdog()
// ends every use). Thread-safety: all methods are thread-safe.
#ifndef SGDSPECTRA_SERVER_SERVER_HEALTH_H_
#define SGDSPECTRA_SERVER_SERVER_HEALTH_H_

#include <grpcpp/health_check_service_interface.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/job_store.h"
#include "server/server_options.h"
#include "server/watchdog.h"

namespace sgdspectra::server {

class ServerHealth {
 public:
  // Sets SERVING for "" and `service_name`, and starts the watchdog (store checks always;
  // listener probes of `port` when options.listener_probe_failures > 0).
  ServerHealth(grpc::HealthCheckServiceInterface* health, std::string service_name, JobStore* store,
               const ServerOptions& options, int port);
  ~ServerHealth();  // StopWatchdog()
  ServerHealth(const ServerHealth&) = delete;
  ServerHealth& operator=(const ServerHealth&) = delete;

  // NOT_SERVING from now on.
  void SetDraining();
  // Ends the watchdog; health stays as it is. Idempotent.
  void StopWatchdog();
  // Runs once, on the watchdog's thread, when the listener is found dead (after NOT_SERVING).
  void SetFailureHandler(std::function<void()> handler);
  // Why the server cannot go on serving (the dead listener), or empty.
  std::string failure() const;
  bool store_ok() const;

 private:
  void Update();  // pushes the status implied by the flags below; requires mutex_
  void OnStoreChecked(bool ok);
  void OnListenerDead(const std::string& why);

  grpc::HealthCheckServiceInterface* const health_;
  const std::string service_name_;
  mutable std::mutex mutex_;  // guards everything below
  bool draining_ = false;
  bool store_ok_ = true;
  std::string failure_;
  std::function<void()> failure_handler_;
  std::unique_ptr<Watchdog> watchdog_;  // last: started when the rest is set
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_SERVER_HEALTH_H_
