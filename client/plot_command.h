// PlotCommand: `sgdspectra plot SOURCE`: SVG (and PNG) figures and one self-contained
// report.html of a job or of a sweep.
//
// SOURCE is, in this order:
//   - a directory holding summary.csv: a sweep folder (client/plot/sweep_figures.h);
//   - an existing file, or "-" for stdin: a job's events as JSON lines, as `run -o jsonl` and
//     `watch -o jsonl` print them (client/plot/event_source.h);
//   - a path that does not exist (it holds '/' or ends in .jsonl, .json or .csv): a usage error;
//   - otherwise a job id, whose events come from the server through WatchJob: all of them for
//     a job that has ended; for a queued or running job those recorded so far, or with --wait
//     all of them once it ends.
// Figures: client/plot/job_figures.h, client/plot/sweep_figures.h. Into --out (default: a
// sweep's SOURCE/plots; an events file's <stem>-plots beside it; ./sgdspectra-plots-<job id>)
// go NAME.svg per figure, NAME.png beside it when rsvg-convert is in PATH (--png auto; always:
// an error without it; never), and report.html. The paths written go to stdout, one per line.
// Existing files of the same names are replaced; other files are left alone.
//
// Exit codes (client/exit_codes.h): 0 written; 2 bad SOURCE (missing, unreadable, not parseable:
// the message names FILE:LINE); 4 the RPC failed; 6 an output could not be written, or --png
// always without rsvg-convert.
//
// Ownership: the context's streams and channel are borrowed for the call.
// Thread-safety: one call at a time per context; no process-wide state is changed.
#ifndef SGDSPECTRA_CLIENT_PLOT_COMMAND_H_
#define SGDSPECTRA_CLIENT_PLOT_COMMAND_H_

#include <string>
#include <vector>

#include "client/commands.h"

namespace CLI {
class App;
}  // namespace CLI

namespace sgdspectra::client {

struct PlotOptions {
  std::string source;         // sweep folder, events file ("-" = stdin) or job id
  std::string out_dir;        // empty = the default for the source (see above)
  std::vector<double> times;  // --times: spectrum snapshots nearest these t; empty = first,
                              // middle and last
  std::string png = "auto";   // auto | always | never
  bool all_blocks = false;    // --blocks all: every class / neuron block, not the first 4
  bool wait = false;          // --wait: for a job id, wait until the job ends
};

// Adds the positional SOURCE and --out, --times, --png, --blocks, --wait to `plot_subcommand`;
// parsed values land in `options`, which must outlive the parse.
void AddPlotOptions(CLI::App* plot_subcommand, PlotOptions* options);

// Runs the command; returns the process exit code. Messages go to context.err.
int PlotCommand(const CommandContext& context, const PlotOptions& options);

}  // namespace sgdspectra::client

#endif  // SGDSPECTRA_CLIENT_PLOT_COMMAND_H_
