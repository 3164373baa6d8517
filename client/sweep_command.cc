#include "client/sweep_command.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "client/exit_codes.h"
#include "client/file_output.h"
#include "client/interrupt_watcher.h"
#include "client/render.h"
#include "client/sweep/sweep_plan.h"
#include "client/sweep/sweep_results.h"
#include "client/sweep/sweep_runner.h"

namespace sgdspectra::client {
namespace {

// The definition stored as DIR/sweep.json: base spec, seeds, axes, success threshold, target.
std::string SweepDefinitionJson(const v1::JobSpec& base, const std::string& seeds,
                                const std::vector<SweepAxis>& axes, double success_accuracy,
                                const std::string& target) {
  google::protobuf::Struct definition;
  auto& fields = *definition.mutable_fields();
  google::protobuf::util::JsonParseOptions parse_options;
  google::protobuf::Struct spec;
  google::protobuf::util::JsonStringToMessage(MessageToJsonLine(base), &spec, parse_options);
  *fields["base_spec"].mutable_struct_value() = spec;
  fields["seeds"].set_string_value(seeds);
  auto* set = fields["set"].mutable_list_value();
  for (const SweepAxis& axis : axes) {
    google::protobuf::Value& entry = *set->add_values();
    auto& axis_fields = *entry.mutable_struct_value()->mutable_fields();
    axis_fields["field"].set_string_value(axis.path);
    for (const std::string& value : axis.values) {
      axis_fields["values"].mutable_list_value()->add_values()->set_string_value(value);
    }
  }
  fields["success_accuracy"].set_number_value(success_accuracy);
  fields["target"].set_string_value(target);
  std::string json;
  google::protobuf::util::JsonPrintOptions print_options;
  print_options.add_whitespace = true;
  google::protobuf::util::MessageToJsonString(definition, &json, print_options);
  return json;
}

// Whether the folder's sweep.json (if any) describes the same sweep as `definition`; the
// target may differ (a resumed sweep may use other replicas).
bool SameSweepAsStored(const std::string& path, const std::string& definition) {
  std::ifstream file(path);
  if (!file) return true;  // a new folder
  std::stringstream text;
  text << file.rdbuf();
  google::protobuf::Struct stored;
  google::protobuf::Struct wanted;
  if (!google::protobuf::util::JsonStringToMessage(text.str(), &stored).ok() ||
      !google::protobuf::util::JsonStringToMessage(definition, &wanted).ok()) {
    return false;
  }
  stored.mutable_fields()->erase("target");
  wanted.mutable_fields()->erase("target");
  return google::protobuf::util::MessageDifferencer::Equals(stored, wanted);
}

// The sweep the flags describe.
struct PlannedSweep {
  v1::JobSpec base;
  std::string seed_text;  // --seeds, or the base spec's seed
  std::vector<SweepAxis> axes;
  std::vector<SweepJob> jobs;
};

// Builds the grid from the flags; false with *error (a usage error: nothing was sent).
bool PlanSweep(const SweepOptions& options, PlannedSweep* plan, std::string* error) {
  const Status built = BuildJobSpec(options.spec, &plan->base);
  if (!built.ok()) {
    *error = std::string(built.message());
    return false;
  }
  std::vector<std::uint64_t> seeds;
  plan->seed_text = options.seeds.empty() ? std::to_string(plan->base.seed()) : options.seeds;
  if (!ParseSeedList(plan->seed_text, &seeds, error)) return false;
  for (const std::string& set : options.sets) {
    SweepAxis axis;
    if (!ParseSweepAxis(plan->base, set, &axis, error)) return false;
    plan->axes.push_back(std::move(axis));
  }
  return BuildSweepPlan(plan->base, seeds, plan->axes, &plan->jobs, error);
}

// Creates DIR/jobs and writes DIR/sweep.json, or accepts a folder that holds the same sweep
// (a resume). kExitOk, or the exit code after saying why on stderr.
int PrepareFolder(const CommandContext& context, const SweepOptions& options,
                  const PlannedSweep& plan) {
  std::ostream& err = *context.err;
  const std::string& dir = options.out_dir;
  std::error_code io_error;
  std::filesystem::create_directories(dir + "/jobs", io_error);
  if (io_error) {
    err << "error: --out " << dir << ": " << io_error.message() << std::endl;
    return kExitOutputError;
  }
  const std::string definition_path = dir + "/sweep.json";
  const std::string definition = SweepDefinitionJson(
      plan.base, plan.seed_text, plan.axes, options.success_accuracy, context.target.given);
  if (!SameSweepAsStored(definition_path, definition)) {
    err << "error: --out " << dir << " holds a different sweep (its sweep.json differs); "
        << "choose another folder" << std::endl;
    return kExitUsage;
  }
  std::string error;
  if (!WriteFileAtomically(definition_path, definition + "\n", &error)) {
    err << "error: " << error << std::endl;
    return kExitOutputError;
  }
  return kExitOk;
}

SweepRunOptions RunOptionsFor(const CommandContext& context, const SweepOptions& options,
                              const std::string& jobs_dir) {
  SweepRunOptions run_options;
  run_options.jobs_dir = jobs_dir;
  run_options.concurrency = options.concurrency > 0
                                ? options.concurrency
                                : 2 * static_cast<int>(context.target.endpoints.size());
  run_options.max_attempts = options.max_attempts;
  run_options.reconnect_seconds = options.reconnect_seconds;
  run_options.rpc_timeout_seconds = context.timeout_seconds > 0 ? context.timeout_seconds : 30;
  return run_options;
}

// The exit code of the whole sweep (sweep_command.h), once its tables are written.
int SweepExitCode(SweepRunEnd run_end, const std::string& error,
                  const std::vector<JobOutcome>& outcomes, std::ostream& err) {
  switch (run_end) {
    case SweepRunEnd::kInterrupted:
      err << "sweep interrupted; jobs in flight go on on their servers. Run the same command "
             "again to resume."
          << std::endl;
      return kExitDetached;
    case SweepRunEnd::kFatalError:
      err << "error: " << error << std::endl;
      return kExitRpcError;
    case SweepRunEnd::kRanAll:
      break;
  }
  bool all_succeeded = true;
  for (const JobOutcome& outcome : outcomes) {
    if (!outcome.finished) return kExitRpcError;
    all_succeeded &= outcome.final_event.state() == v1::SUCCEEDED;
  }
  return all_succeeded ? kExitOk : kExitJobFailed;
}

}  // namespace

void AddSweepOptions(CLI::App* sweep, SweepOptions* options) {
  AddSpecOptions(sweep, &options->spec);
  sweep->add_option("--out", options->out_dir, "Results folder (created; a rerun resumes)")
      ->required();
  sweep->add_option("--seeds", options->seeds,
                    "Seeds: A:B (B excluded), lists 1,5,9, or both (0:4,10); default: the spec's");
  sweep
      ->add_option("--set", options->sets,
                   "NAME=V1,V2,...: sweep a spec field (lambda, d, k, hidden, alpha, beta, "
                   "c_delta, t_end, ..., or a path like kgmm.snr); repeatable")
      ->take_all();
  sweep
      ->add_option("--concurrency", options->concurrency,
                   "Jobs in flight at once (0 = 2 per server address)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  sweep
      ->add_option("--max-attempts", options->max_attempts,
                   "Submissions of one job when servers restart under it")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  sweep
      ->add_option("--reconnect-seconds", options->reconnect_seconds,
                   "How long to wait for a server that went away")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  sweep
      ->add_option("--success-accuracy", options->success_accuracy,
                   "A run succeeds when its final test accuracy exceeds this")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
}

int SweepCommand(const CommandContext& context, const SweepOptions& options) {
  std::ostream& err = *context.err;
  PlannedSweep plan;
  std::string error;
  if (!PlanSweep(options, &plan, &error)) {
    err << "error: " << error << std::endl;
    return kExitUsage;
  }
  const int folder_exit = PrepareFolder(context, options, plan);
  if (folder_exit != kExitOk) return folder_exit;

  const std::string& dir = options.out_dir;
  const std::string jobs_dir = dir + "/jobs";
  std::vector<JobOutcome> outcomes(plan.jobs.size());
  int reused = 0;
  for (const SweepJob& job : plan.jobs) {
    reused += LoadFinishedJob(jobs_dir, job.index, &outcomes[job.index]);
  }
  const SweepRunOptions run_options = RunOptionsFor(context, options, jobs_dir);
  err << "sweep: " << plan.jobs.size() << " jobs (" << reused << " already done) on "
      << context.target.endpoints.size() << " address(es) of " << context.target.given << ", "
      << run_options.concurrency << " at a time; results in " << dir << std::endl;

  SweepRunner runner(context.target, run_options, &err);
  SweepRunEnd run_end;
  {
    InterruptWatcher interrupt_watcher([&runner] { runner.Interrupt(); });
    run_end = runner.Run(plan.jobs, &outcomes, &error);
  }
  std::string write_error;
  if (!WriteSweepTables(dir, plan.axes, plan.jobs, outcomes, options.success_accuracy,
                        &write_error)) {
    err << "error: " << write_error << std::endl;
    return kExitOutputError;
  }
  PrintGroupStatistics(ComputeGroupStatistics(plan.jobs, outcomes, options.success_accuracy),
                       options.success_accuracy, context.out);
  *context.out << "wrote " << dir << "/summary.csv, aggregates.csv, outlier_success.csv"
               << std::endl;
  return SweepExitCode(run_end, error, outcomes, err);
}

}  // namespace sgdspectra::client
