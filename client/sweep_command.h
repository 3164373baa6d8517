// `sgdspectra sweep`: run a grid of jobs (seeds x --set values over a base spec) against one
// server or several replicas and write one results folder (see client/sweep/).
//
//   sgdspectra [--server TARGET] sweep [spec flags | --spec FILE] --out DIR
//       [--seeds 0:128] [--set lambda=20,100 ...] [--concurrency N] [--max-attempts N]
//       [--reconnect-seconds S] [--success-accuracy A]
//
// Folder: DIR/sweep.json (the definition), DIR/jobs/NNNN.events.jsonl (+ NNNN.job.json) per job,
// DIR/summary.csv, DIR/aggregates.csv, DIR/outlier_success.csv (sweep_results.h). Running the
// same command again resumes: jobs with a whole events file are not run again; a folder that
// holds a different sweep is refused.
//
// Exit codes: 0 every job SUCCEEDED; 1 some job ended FAILED or CANCELLED; 2 usage (nothing
// sent); 4 some job could not be run to its end (no replica, too many interruptions, or an RPC
// error such as INVALID_ARGUMENT); 6 the folder could not be written; 130 interrupted (Ctrl-C;
// jobs in flight go on on their servers, and a rerun resumes).
//
// Thread-safety: call from one thread (installs SIGINT/SIGTERM handlers while running).
#ifndef SGDSPECTRA_CLIENT_SWEEP_COMMAND_H_
#define SGDSPECTRA_CLIENT_SWEEP_COMMAND_H_

#include <string>
#include <vector>

#include "client/commands.h"
#include "client/spec_builder.h"

namespace CLI {
class App;
}  // namespace CLI

namespace sgdspectra::client {

struct SweepOptions {
  SpecFlags spec;
  std::string out_dir;
  std::string seeds;              // empty = the base spec's seed
  std::vector<std::string> sets;  // "NAME=V1,V2"
  int concurrency = 0;            // 0 = 2 per endpoint of the target
  int max_attempts = 5;
  double reconnect_seconds = 120;
  double success_accuracy = 0.99;
};

// Registers the sweep flags (and the spec flags) on `sweep`; `options` must outlive the parse.
void AddSweepOptions(CLI::App* sweep, SweepOptions* options);

int SweepCommand(const CommandContext& context, const SweepOptions& options);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_SWEEP_COMMAND_H_
