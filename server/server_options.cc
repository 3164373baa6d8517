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

namespace {

// 0 (off) or a value in [low, high].
CLI::Validator ZeroOr(int low, int high) {
  return CLI::Validator(
      [low, high](const std::string& text) -> std::string {
        const long value = std::stol(text);
        if (value == 0 || (value >= low && value <= high)) return std::string();
        return "must be 0 (off) or in [" + std::to_string(low) + ", " + std::to_string(high) +
               "], got " + text;
      },
      "0 or [" + std::to_string(low) + ", " + std::to_string(high) + "]");
}

// File descriptors and failure detection (server/watchdog.h, docs/DEPLOY.md).
void AddConnectionFlags(CLI::App* app, ServerOptions* options) {
  constexpr int kDay = 24 * 3600 * 1000;
  app->add_option("--max-connection-idle-ms", options->max_connection_idle_ms,
                  "close a client connection that has had no call for this long (clients "
                  "reconnect when needed; an open watch stream is a call); 0 = never")
      ->check(ZeroOr(1000, kDay))
      ->capture_default_str();
  app->add_option("--max-connection-age-ms", options->max_connection_age_ms,
                  "ask clients to reconnect (GOAWAY) once a connection is this old; 0 = never. "
                  "With a grace, calls still open after it are cancelled, long watch streams "
                  "included")
      ->check(ZeroOr(10'000, 7 * kDay))
      ->capture_default_str();
  app->add_option("--max-connection-age-grace-ms", options->max_connection_age_grace_ms,
                  "after --max-connection-age-ms, cancel calls still open after this; 0 = let "
                  "them finish")
      ->check(ZeroOr(1000, 7 * kDay))
      ->capture_default_str();
  app->add_option("--handshake-timeout-ms", options->handshake_timeout_ms,
                  "close a connection that has not finished its HTTP/2 (and TLS) set-up within "
                  "this, so idle sockets cannot hold file descriptors")
      ->check(CLI::Range(1000, 300'000))
      ->capture_default_str();
  app->add_option("--watchdog-interval-ms", options->watchdog_interval_ms,
                  "how often the store (health NOT_SERVING while it cannot write) and the "
                  "listener (a connection to the server's own port) are checked")
      ->check(CLI::Range(100, 600'000))
      ->capture_default_str();
  app->add_option("--listener-probe-failures", options->listener_probe_failures,
                  "failed listener checks in a row after which the server drains and exits 2, "
                  "to be restarted (gRPC 1.51 never accepts again after EMFILE)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
}

}  // namespace

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
  app.add_option("--metrics-listen", options->metrics_listen,
                 "serve Prometheus metrics at http://IP:PORT/metrics (port 0: any free port); "
                 "off when unset");
  app.add_option("--metrics-port-file", options->metrics_port_file,
                 "write the metrics port to this file once serving (temp file + rename)")
      ->needs("--metrics-listen");
  AddSecurityFlags(&app, &options->security);
  AddConnectionFlags(&app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return std::nullopt;
}

}  // namespace sgdspectra::server
