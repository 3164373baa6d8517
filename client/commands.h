// Commands: one function per `sgdspectra` subcommand. Each sends its RPC(s), renders the answer
// to `out`, reports failures on `err` as "error: <gRPC code name>: <message>", and returns the
// process exit code (client/exit_codes.h).
//
// Unary RPCs get a deadline of `timeout_seconds`; streams (run, watch) have none, because a job
// may run for hours. During a stream, Ctrl-C / SIGTERM detaches: the job goes on and the command
// prints how to re-attach; with cancel_on_exit it cancels the job first.
//
// Ownership: the context's streams and channel are borrowed and must outlive each call.
// Thread-safety: a command may run on any thread, but run/watch install process-wide signal
// handlers for their duration, so run at most one stream command at a time.
#ifndef SGDSPECTRA_CLIENT_COMMANDS_H_
#define SGDSPECTRA_CLIENT_COMMANDS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "client/render.h"
#include "client/server_target.h"
#include "sgdspectra/v1/jobs.pb.h"

namespace sgdspectra::client {

struct CommandContext {
  std::string server_address;  // shown in the re-attach hint: the target, or the job's replica
  ServerTarget target;         // what --server named (one server or several replicas)
  std::shared_ptr<grpc::Channel> channel;  // balanced over target's replicas, or one replica
  double timeout_seconds = 30;             // deadline of unary RPCs; <= 0 = none
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool out_is_terminal = false;  // the table view draws a progress bar only on a terminal
};

struct StreamOptions {
  OutputFormat output = OutputFormat::kTable;
  bool cancel_on_exit = false;            // on Ctrl-C, CancelJob before leaving
  BlockFilter layer = BlockFilter::kAll;  // spectrum rows of the table and csv views (--layer)
};

struct ListOptions {
  OutputFormat output = OutputFormat::kTable;
  v1::JobState state_filter = v1::JOB_STATE_UNSPECIFIED;  // unspecified = all states
  std::int32_t page_size = 0;                             // 0 = the server's default
  std::string page_token;                                 // start after a previous page
  bool all_pages = false;                                 // follow next_page_token to the end
};

struct ResultOptions {
  bool include_test_sample = false;
  std::string out_path;  // empty = stdout
};

// RunJob: submit and stream every event until the terminal one. Exit code from the job's
// Finished.reason (exit_codes.h).
int RunJobCommand(const CommandContext& context, const v1::JobSpec& spec,
                  const StreamOptions& options);

// SubmitJob: prints the job id (table, csv) or the Job (jsonl).
int SubmitJobCommand(const CommandContext& context, const v1::JobSpec& spec, OutputFormat output);

// WatchJob: events after `after_seq` until the terminal one. Exit code from the job's
// Finished.reason (exit_codes.h).
int WatchJobCommand(const CommandContext& context, const std::string& job_id,
                    std::int64_t after_seq, const StreamOptions& options);

int GetJobCommand(const CommandContext& context, const std::string& job_id, OutputFormat output);

// ListJobs. With several replicas: every replica's jobs (all pages), merged newest first;
// --page-token is then a usage error (tokens belong to one replica).
int ListJobsCommand(const CommandContext& context, const ListOptions& options);

int CancelJobCommand(const CommandContext& context, const std::string& job_id, OutputFormat output);

// GetResult: the JobResult in the proto3 JSON mapping (weights, means, resolved spec, ...),
// to stdout or to `out_path` (written to a temporary file, then renamed into place).
int GetResultCommand(const CommandContext& context, const std::string& job_id,
                     const ResultOptions& options);

// grpc.health.v1 Check of `service` ("" = the whole server); prints the serving status.
// kExitOk only for SERVING. With several replicas, checks each address ("ADDRESS: STATUS"
// lines) and is kExitOk only if every one is SERVING.
int HealthCommand(const CommandContext& context, const std::string& service);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_COMMANDS_H_
