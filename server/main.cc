// sgdspectra-server: parses flags, starts a SpectraServer, and on SIGTERM/SIGINT drains it
// and exits 0 (2 when its listener died: server/watchdog.h); SIGHUP re-reads --auth-tokens.
// Signals are taken by sigwait on the main thread, not in a handler.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "server/fd_limit.h"
#include "server/server_options.h"
#include "server/spectra_server.h"

int main(int argc, char** argv) {
  // Block the shutdown signals before any thread starts, so that every thread (gRPC's and the
  // workers) inherits the mask and only the sigwait below receives them.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGTERM);
  sigaddset(&shutdown_signals, SIGINT);
  sigaddset(&shutdown_signals, SIGHUP);  // not a shutdown: reload the tokens (below)
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  sgdspectra::server::ServerOptions options;
  if (auto exit_code = sgdspectra::server::ParseServerOptions(argc, argv, &options)) {
    return *exit_code;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("sgdspectra-server"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  sgdspectra::server::RaiseOpenFileLimit();

  std::unique_ptr<sgdspectra::server::SpectraServer> server;
  const sgdspectra::Status status = sgdspectra::server::SpectraServer::Start(options, &server);
  if (!status.ok()) {
    spdlog::critical("cannot start: {}", status.message());
    return 1;
  }
  // A dead listener (server/watchdog.h): drain as for SIGTERM, then exit 2 (below).
  server->SetFailureHandler([] { kill(getpid(), SIGTERM); });
  int signal_number = 0;
  while (sigwait(&shutdown_signals, &signal_number) == 0 && signal_number == SIGHUP) {
    server->ReloadAuthTokens();  // logs the outcome; a failed reload keeps the old tokens
  }
  spdlog::info("received {}: draining", strsignal(signal_number));
  const bool stopped = server->Shutdown();
  const int exit_code = server->failure().empty() ? 0 : 2;
  if (!stopped) {
    // A run that ignored its cancel still holds a worker thread; destroying the server would
    // wait for it. Its watchers have their terminal event and the store is flushed.
    spdlog::warn("exiting without waiting for the run that did not stop");
    spdlog::shutdown();
    std::_Exit(exit_code);
  }
  return exit_code;
}
