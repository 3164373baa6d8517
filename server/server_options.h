// ServerOptions: the typed configuration of sgdspectra-server, and its command-line parser.
// Plain values; thread-safe to read.
#ifndef SGDSPECTRA_SERVER_SERVER_OPTIONS_H_
#define SGDSPECTRA_SERVER_SERVER_OPTIONS_H_

#include <optional>
#include <string>

#include "server/security_options.h"

namespace sgdspectra::server {

// HTTP/2 keepalive, set explicitly rather than left to gRPC's defaults.
struct KeepaliveOptions {
  int time_ms = 60'000;     // ping an idle connection after this long
  int timeout_ms = 20'000;  // close it if the ping is not answered within this
  // Pings from clients closer together than this (without data) count as abuse.
  int min_client_ping_interval_ms = 10'000;
  bool permit_without_calls = true;  // keep long-lived idle watch connections alive
};

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // HOST:PORT; port 0 picks a free port
  std::string port_file;  // if set, the bound port is written here after start (atomically)
  std::string data_dir;   // required; created if missing
  int workers = 1;        // jobs at once
  int queue = 16;         // waiting jobs beyond the running ones
  int threads = 1;        // threads for one job's products when a spec says 0
  bool reflection = false;
  int max_message_bytes = 64 << 20;
  KeepaliveOptions keepalive;
  int request_threads = 2;           // threads for blocking request work (store, samples)
  int shutdown_timeout_ms = 20'000;  // SIGTERM: time for jobs to stop and streams to end
  // Per-job limits a spec cannot raise (JobManagerOptions). 0 for the memory cap means half
  // of the machine's physical memory, resolved at start.
  double max_job_memory_bytes = 0;
  long max_events_per_job = 200'000;
  int max_sample_streams = 4;  // StreamTestSample calls open at once
  // Connections (file descriptors) and the watchdog: docs/DEPLOY.md, "Limits and failures".
  // 0 = off for the idle and age limits; the age limit is off by default because it would
  // end long-lived watch streams of running jobs (after its grace).
  int max_connection_idle_ms = 10 * 60 * 1000;  // close a connection with no call this long
  int max_connection_age_ms = 0;                // GOAWAY a connection this old
  int max_connection_age_grace_ms = 0;          // then cancel its calls after this; 0 = never
  int handshake_timeout_ms = 20'000;            // close a connection not set up within this
  int watchdog_interval_ms = 5000;              // store and listener checks
  int listener_probe_failures = 3;              // failed listener probes in a row: exit 2
  // TLS, bearer tokens, admin principals (server/security_options.h; docs/DEPLOY.md, Security).
  SecurityOptions security;
  // Prometheus metrics (server/metrics.h) over HTTP at GET /metrics on this "IP:PORT"; empty =
  // no listener. Port 0 picks a free port, written to metrics_port_file if that is set.
  std::string metrics_listen;
  std::string metrics_port_file;
};

// Half of the machine's physical memory (sysconf), the default of --max-job-memory-bytes.
double DefaultMaxJobMemoryBytes();

// Parses argv into *options. Returns an exit code when the program should stop (0 after
// --help, non-zero after a bad flag, with the message on stderr), or nullopt to go on.
std::optional<int> ParseServerOptions(int argc, char** argv, ServerOptions* options);

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_SERVER_OPTIONS_H_
