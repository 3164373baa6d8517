// sgdspectra-server: parses flags, starts a SpectraServer, and on SIGTERM/SIGINT drains it
// and exits 0. Signals are taken by sigwait on the main thread, not in a handler.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <memory>

#include "server/server_options.h"
#include "server/spectra_server.h"

int main(int argc, char** argv) {
  // Block the shutdown signals before any thread starts, so that every thread (gRPC's and the
  // workers) inherits the mask and only the sigwait below receives them.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGTERM);
  sigaddset(&shutdown_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  sgdspectra::server::ServerOptions options;
  if (auto exit_code = sgdspectra::server::ParseServerOptions(argc, argv, &options)) {
    return *exit_code;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("sgdspectra-server"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  std::unique_ptr<sgdspectra::server::SpectraServer> server;
  const sgdspectra::Status status = sgdspectra::server::SpectraServer::Start(options, &server);
  if (!status.ok()) {
    spdlog::critical("cannot start: {}", status.message());
    return 1;
  }
  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  spdlog::info("received {}: draining", strsignal(signal_number));
  server->Shutdown();
  return 0;
}
