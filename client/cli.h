// Cli: the `sgdspectra` command line: global options, subcommands and their flags (CLI11),
// dispatching to client/commands.h.
//
//   sgdspectra [--server TARGET] [--timeout S] [--tls-ca F] [--tls-cert F --tls-key F]
//              [--tls-server-name N] [--token-file F] <subcommand> ...
//     run      [spec flags | --spec FILE] [--output F] [--layer L] [--cancel-on-exit]
//     submit   [spec flags | --spec FILE] [--output F]
//     watch    JOB [--after-seq N] [--output F] [--layer L] [--cancel-on-exit]
//     get      JOB [--output F]
//     list     [--state S] [--page-size N] [--page-token T] [--all] [--output F]
//     cancel   JOB [--output F]
//     result   JOB [--output json] [--include-test-sample] [--out FILE]
//     health   [--service NAME]
//     sweep    [spec flags | --spec FILE] --out DIR [--seeds A:B] [--set NAME=V1,V2 ...] ...
//
// The server address defaults to 127.0.0.1:50051, or the SGDSPECTRA_SERVER environment
// variable; TLS and the bearer token come from the flags above or SGDSPECTRA_TLS_CA, ...,
// SGDSPECTRA_TOKEN_FILE, SGDSPECTRA_TOKEN (client/channel_security.h). TARGET may name several
// replicas (client/server_target.h): new jobs are balanced round-robin, and
// watch/get/cancel/result first find the replica that holds the job. Exit codes:
// client/exit_codes.h (also printed by --help). Thread-safety: call from one thread (installs
// signal handlers during run/watch).
#ifndef SGDSPECTRA_CLIENT_CLI_H_
#define SGDSPECTRA_CLIENT_CLI_H_

namespace sgdspectra::client {

// Parses argv, runs the subcommand, and returns the process exit code. Writes to stdout/stderr.
int RunCli(int argc, char** argv);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_CLI_H_
