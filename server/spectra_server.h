// SpectraServer: one running sgdspectra server, assembled from its parts: the store in
// --data-dir, the job manager, the request executor, the gRPC service with health (and, on
// request, reflection), listening on --listen, with TLS and per-call authentication as the
// security flags say (server/security_options.h; it refuses to start off loopback without them).
//
// main() is a thin wrapper around it, and in-process tests start it directly (port 0).
//
// Ownership: owns every part; Shutdown() stops them in dependency order (the gRPC server
// before the executor and manager it borrows, the store last). Thread-safety: port() and
// job_manager() are safe from any thread; Shutdown() may be called from any one thread.
#ifndef SGDSPECTRA_SERVER_SPECTRA_SERVER_H_
#define SGDSPECTRA_SERVER_SPECTRA_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/call_auth.h"
#include "server/job_manager.h"
#include "server/job_store.h"
#include "server/metrics.h"
#include "server/request_executor.h"
#include "server/server_health.h"
#include "server/server_options.h"
#include "server/service.h"
#include "sgdspectra/core/status.h"

namespace sgdspectra::server {

class SpectraServer {
 public:
  // Creates the data directory if missing, opens the store, recovers its jobs, starts
  // serving (health SERVING) and writes the bound port to options.port_file if set.
  static Status Start(const ServerOptions& options, std::unique_ptr<SpectraServer>* server);
  ~SpectraServer();  // Shutdown()
  SpectraServer(const SpectraServer&) = delete;
  SpectraServer& operator=(const SpectraServer&) = delete;

  int port() const { return port_; }
  JobManager* job_manager() { return manager_.get(); }
  JobStore* job_store() { return store_.get(); }  // tests: fault injection
  // The server's metrics (always counted; served over HTTP only with --metrics-listen), and
  // the bound metrics port (0 without a listener).
  ServerMetrics* metrics() { return metrics_.get(); }
  int metrics_port() const { return metrics_->port(); }

  // Re-reads --auth-tokens (SIGHUP) and logs the outcome. On failure (a file that no longer
  // parses) the previous tokens stay in force; kFailedPrecondition without --auth-tokens.
  Status ReloadAuthTokens();

  // First half of a shutdown: health NOT_SERVING, refuse new jobs (UNAVAILABLE), cancel
  // queued jobs and ask running ones to stop. Returns at once; the server still answers
  // reads and streams. Idempotent.
  void BeginDrain();

  // The draining shutdown of SIGTERM: BeginDrain(), wait (up to options.shutdown_timeout_ms)
  // for running jobs to end with their terminal events, give open streams a short grace to
  // deliver them, shut the gRPC server down, then stop the workers and flush the store.
  // A job still running after the timeout is finished CANCELLED (SERVER_SHUTDOWN) so that its
  // watchers get a terminal event; its worker thread cannot be stopped, and Shutdown returns
  // false: the caller should then end the process (std::_Exit) rather than destroy the
  // server, whose destructor would wait for that run. True when everything stopped.
  // Idempotent (returns the first call's answer).
  bool Shutdown();

  // Runs once when the server cannot go on (its listener died, server/watchdog.h); health is
  // NOT_SERVING by then. main's handler starts the shutdown and exits non-zero.
  void SetFailureHandler(std::function<void()> handler);
  // Why the server cannot go on serving, or empty.
  std::string failure() const;

 private:
  explicit SpectraServer(const ServerOptions& options) : options_(options) {}

  const ServerOptions options_;
  // Declaration order is destruction order in reverse: the server goes first, the metrics
  // (which every other part counts in) last.
  const std::unique_ptr<ServerMetrics> metrics_ = std::make_unique<ServerMetrics>();
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<RequestExecutor> executor_;
  std::unique_ptr<CallAuthenticator> authenticator_;  // never null once started
  std::unique_ptr<SgdSpectraService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ServerHealth> health_;  // borrows server_'s health service and store_
  int port_ = 0;
  std::mutex drain_mutex_;
  bool draining_ = false;
  std::mutex shutdown_mutex_;
  bool shut_down_ = false;
  bool stopped_cleanly_ = false;
};

// Writes `port` to path through a temporary file and a rename, so a reader never sees a
// partial number.
Status WritePortFile(const std::string& path, int port);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_SPECTRA_SERVER_H_
