#include "server/server_options.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "server/version.h"

namespace sgdspectra::server {

double DefaultMaxJobMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return 8.0 * (1ull << 30);  // unknown: the spec default
  return 0.5 * static_cast<double>(pages) * static_cast<double>(page_size);
}

std::optional<int> ParseServerOptions(int argc, char** argv, ServerOptions* options) {
  CLI::App app("sgdspectra-server: runs online-SGD spectral experiments as gRPC jobs");
  app.set_version_flag("--version", BuildVersion());
  app.add_option("--listen", options->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--port-file", options->port_file,
                 "write the bound port to this file once serving (temp file + rename)");
  app.add_option("--data-dir", options->data_dir,
                 "directory of the job store (SQLite); created if missing")
      ->required();
  app.add_option("--workers", options->workers, "jobs that run at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--queue", options->queue,
                 "jobs that may wait beyond the running ones; more get RESOURCE_EXHAUSTED")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--threads", options->threads,
                 "threads for one job's products when its spec says analysis.threads = 0")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_flag("--reflection", options->reflection, "enable gRPC server reflection");
  app.add_option("--max-message-bytes", options->max_message_bytes,
                 "largest message sent or received")
      ->check(CLI::Range(1 << 20, 1 << 30))
      ->capture_default_str();
  app.add_option("--keepalive-time-ms", options->keepalive.time_ms,
                 "ping idle connections after this long")
      ->check(CLI::Range(1000, 24 * 3600 * 1000))
      ->capture_default_str();
  app.add_option("--keepalive-timeout-ms", options->keepalive.timeout_ms,
                 "drop a connection whose keepalive ping is not answered within this")
      ->check(CLI::Range(100, 3600 * 1000))
      ->capture_default_str();
  app.add_option("--keepalive-min-client-ping-ms", options->keepalive.min_client_ping_interval_ms,
                 "smallest interval between client pings that the server accepts")
      ->check(CLI::Range(0, 3600 * 1000))
      ->capture_default_str();
  app.add_option("--request-threads", options->request_threads,
                 "threads for blocking request work (store writes, test samples)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--shutdown-timeout-ms", options->shutdown_timeout_ms,
                 "on SIGTERM/SIGINT: time for running jobs to stop and streams to end")
      ->check(CLI::Range(0, 3600 * 1000))
      ->capture_default_str();
  app.add_option("--max-job-memory-bytes", options->max_job_memory_bytes,
                 "refuse a job whose estimated peak memory is above this (a spec's "
                 "memory_budget_bytes can only lower it); 0 = half the machine's memory")
      ->check(CLI::Range(0.0, 1e15))
      ->capture_default_str();
  app.add_option("--max-events-per-job", options->max_events_per_job,
                 "refuse a job that would send more events (snapshots and progress); 0 = none")
      ->check(CLI::Range(0L, 1'000'000'000L))
      ->capture_default_str();
  app.add_option("--max-sample-streams", options->max_sample_streams,
                 "StreamTestSample calls open at once (each holds its job's test sample in "
                 "memory); more get RESOURCE_EXHAUSTED")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return std::nullopt;
}

}  // namespace sgdspectra::server
