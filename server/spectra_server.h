// SpectraServer: one running sgdspectra server, assembled from its parts: the store in
// --data-dir, the job manager, the request executor, the gRPC service with health (and, on
// request, reflection), listening on --listen.
//
// main() is a thin wrapper around it, and in-process tests start it directly (port 0).
//
// Ownership: owns every part; Shutdown() stops them in dependency order (the gRPC server
// before the executor and manager it borrows, the store last). Thread-safety: port() and
// job_manager() are safe from any thread; Shutdown() may be called from any one thread.
#ifndef SGDSPECTRA_SERVER_SPECTRA_SERVER_H_
#define SGDSPECTRA_SERVER_SPECTRA_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>

#include "server/job_manager.h"
#include "server/job_store.h"
#include "server/request_executor.h"
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

  // First half of a shutdown: health NOT_SERVING, refuse new jobs (UNAVAILABLE), cancel
  // queued jobs and ask running ones to stop. Returns at once; the server still answers
  // reads and streams. Idempotent.
  void BeginDrain();

  // The draining shutdown of SIGTERM: BeginDrain(), wait (up to options.shutdown_timeout_ms)
  // for running jobs to end with their terminal events, give open streams a short grace to
  // deliver them, shut the gRPC server down, then stop the workers and flush the store.
  // Idempotent.
  void Shutdown();

 private:
  explicit SpectraServer(const ServerOptions& options) : options_(options) {}

  const ServerOptions options_;
  // Declaration order is destruction order in reverse: the server goes first.
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<JobManager> manager_;
  std::unique_ptr<RequestExecutor> executor_;
  std::unique_ptr<SgdSpectraService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::mutex drain_mutex_;
  bool draining_ = false;
  std::mutex shutdown_mutex_;
  bool shut_down_ = false;
};

// Writes `port` to path through a temporary file and a rename, so a reader never sees a
// partial number.
Status WritePortFile(const std::string& path, int port);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_SPECTRA_SERVER_H_
