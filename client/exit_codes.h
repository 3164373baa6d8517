// Process exit codes of the `sgdspectra` CLI.
//
// They are part of the CLI's contract: scripts and the container HEALTHCHECK branch on them, so
// a value never changes meaning. `sgdspectra --help` prints the same table (kExitCodeHelp).
#ifndef SGDSPECTRA_CLIENT_EXIT_CODES_H_
#define SGDSPECTRA_CLIENT_EXIT_CODES_H_

namespace sgdspectra::client {

enum ExitCode : int {
  // The command did what it was asked; for run/watch the job ended SUCCEEDED; for health the
  // server answered SERVING.
  kExitOk = 0,
  // run/watch: the job ended FAILED by itself (Finished.reason RUN_FAILED, STORE_ERROR,
  // INTERNAL; its reason and message are on stderr).
  kExitJobFailed = 1,
  // Bad command line or spec file; nothing was sent to the server.
  kExitUsage = 2,
  // run/watch: the job was cancelled by a user (CANCELLED_BY_USER); or --cancel-on-exit
  // cancelled it after Ctrl-C.
  kExitJobCancelled = 3,
  // An RPC failed; stderr holds "error: <gRPC status code name>: <message>".
  kExitRpcError = 4,
  // health: the server answered, but not SERVING (e.g. NOT_SERVING while draining).
  kExitNotServing = 5,
  // result --out, sweep: an output file could not be written.
  kExitOutputError = 6,
  // run/watch: the server, not the job, ended it: it restarted under the job (INTERRUPTED,
  // state FAILED) or drained (SERVER_SHUTDOWN, state CANCELLED). Submitting the same spec
  // again is safe. (Servers older than Finished.reason give 1 or 3 here, by state.)
  kExitEndedByServer = 7,
  // run/watch: interrupted (Ctrl-C / SIGTERM) and detached; the job goes on on the server.
  // 128 + SIGINT, the shell's convention for "stopped by Ctrl-C".
  kExitDetached = 130,
};

inline constexpr const char kExitCodeHelp[] =
    "Exit codes:\n"
    "  0    ok (run/watch: job SUCCEEDED; health: SERVING)\n"
    "  1    job FAILED (the run's own error)\n"
    "  2    usage error (bad flags or spec file; nothing sent)\n"
    "  3    job CANCELLED by a user (also after Ctrl-C with --cancel-on-exit)\n"
    "  4    RPC error (gRPC status code and message on stderr)\n"
    "  5    health: server not SERVING\n"
    "  6    result --out / sweep: output could not be written\n"
    "  7    job ended by the server (restart or drain); submitting it again is safe\n"
    "  130  run/watch detached by Ctrl-C (the job goes on)\n";

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_EXIT_CODES_H_
