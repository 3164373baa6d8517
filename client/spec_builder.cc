#include "client/spec_builder.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace sgdspectra::client {
namespace {

std::string Lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// A CLI11 check that `parse` accepts the text, so a misspelt enum is a usage error at parse time.
template <typename Enum>
CLI::Validator EnumNameValidator(bool (*parse)(const std::string&, Enum*),
                                 const std::string& description) {
  return CLI::Validator(
      [parse, description](std::string& text) -> std::string {
        Enum value;
        if (parse(text, &value)) return "";
        return "unknown value '" + text + "', expected " + description;
      },
      description);
}

std::string TaskName(v1::JobSpec::TaskCase task) {
  return task == v1::JobSpec::kXorTask ? "xor" : "kgmm";
}

// The flags of one task that were given, by name, for the check against the job's task.
std::vector<std::string> KgmmOnlyFlagsGiven(const SpecFlags& flags) {
  std::vector<std::string> given;
  if (flags.num_classes) given.push_back("--k");
  if (!flags.class_probs.empty()) given.push_back("--class-probs");
  if (flags.ridge_flags.count("--beta") > 0) given.push_back("--beta");
  return given;
}

std::vector<std::string> XorOnlyFlagsGiven(const SpecFlags& flags) {
  std::vector<std::string> given;
  if (flags.hidden) given.push_back("--hidden");
  if (flags.ridge_flags.count("--alpha") > 0) given.push_back("--alpha");
  if (flags.second_layer_margin) given.push_back("--second-layer-margin");
  if (flags.decoy_draws) given.push_back("--decoy-draws");
  return given;
}

// The job's task (see spec_builder.h) and what chose it, for error messages.
Status ChooseTask(const SpecFlags& flags, const v1::JobSpec& spec, v1::JobSpec::TaskCase* task,
                  std::string* chosen_by) {
  if (flags.task) {
    if (!ParseTaskName(*flags.task, task)) {
      return google::protobuf::util::InvalidArgumentError("--task: unknown task '" + *flags.task +
                                                          "', expected kgmm or xor");
    }
    *chosen_by = "--task " + TaskName(*task);
  } else if (spec.task_case() != v1::JobSpec::TASK_NOT_SET) {
    *task = spec.task_case();
    *chosen_by = "the --spec file";
  } else if (const std::vector<std::string> xor_flags = XorOnlyFlagsGiven(flags);
             !xor_flags.empty()) {
    *task = v1::JobSpec::kXorTask;
    *chosen_by = xor_flags.front();
  } else {
    *task = v1::JobSpec::kKgmm;
    *chosen_by = "default";
  }
  return Status();
}

}  // namespace

bool ParseTaskName(const std::string& text, v1::JobSpec::TaskCase* task) {
  const std::string name = Lowercase(text);
  if (name == "kgmm" || name == "k-gmm") {
    *task = v1::JobSpec::kKgmm;
  } else if (name == "xor" || name == "xor-task" || name == "xor_task") {
    *task = v1::JobSpec::kXorTask;
  } else {
    return false;
  }
  return true;
}

void AddSpecOptions(CLI::App* app, SpecFlags* flags) {
  // A flag given twice takes its last value, so that `run $COMMON_FLAGS --d 40` overrides.
  const CLI::MultiOptionPolicy caller_policy = app->option_defaults()->get_multi_option_policy();
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  app->add_option("--spec", flags->spec_file,
                  "Job spec JSON file (proto3 JSON mapping of sgdspectra.v1.JobSpec; - = stdin). "
                  "Flags given as well override its fields.");

  // Descriptions say which proto field a flag sets; its meaning, default and bounds are in
  // proto/sgdspectra/v1/jobs.proto, and the server checks them.
  app->add_option("--name", flags->name, "name: free text")->group("Job");
  app->add_option("--seed", flags->seed, "seed: of every random stream")->group("Job");
  app->add_option("--task", flags->task,
                  "task: kgmm | xor (default: the --spec file's, else xor if an XOR-only flag "
                  "is given, else kgmm)")
      ->check(EnumNameValidator<v1::JobSpec::TaskCase>(&ParseTaskName, "kgmm | xor"))
      ->group("Job");
  app->add_option("--progress-every-steps", flags->progress_every_steps,
                  "progress_every_steps: SGD steps between progress events")
      ->group("Job");
  app->add_option("--memory-budget-bytes", flags->memory_budget_bytes,
                  "memory_budget_bytes: refuse the job above this estimated peak")
      ->group("Job");

  app->add_option("--d,--dim", flags->dim, "kgmm.dim / xor_task.dim: input dimension d")
      ->group("Both tasks");
  app->add_option("--lambda,--snr", flags->snr,
                  "kgmm.snr / xor_task.snr: signal-to-noise ratio lambda")
      ->group("Both tasks");
  // --ridge, --beta and --alpha set one value; each records its name so that a task-specific
  // name given for the other task is an error, and the callbacks run in command-line order so
  // that the last one given wins, as for a repeated flag.
  const auto add_ridge_option = [app, flags](const std::string& name, const std::string& help,
                                             const std::string& group) {
    app->add_option_function<double>(
           name,
           [flags, name](const double& value) {
             flags->ridge = value;
             flags->ridge_flags.insert(name);
           },
           help)
        ->trigger_on_parse()
        ->group(group);
  };
  add_ridge_option("--ridge", "kgmm.ridge (beta) / xor_task.ridge (alpha)", "Both tasks");

  app->add_option("--k,--num-classes", flags->num_classes, "kgmm.num_classes: classes k")
      ->group("k-GMM task");
  add_ridge_option("--beta", "kgmm.ridge: ridge beta", "k-GMM task");
  app->add_option(
         "--class-probs", flags->class_probs,
         "kgmm.class_probs: k comma-separated class probabilities (a second --class-probs appends)")
      ->delimiter(',')
      ->group("k-GMM task");

  app->add_option("--hidden,--K", flags->hidden, "xor_task.hidden: hidden width K")
      ->group("XOR task");
  add_ridge_option("--alpha", "xor_task.ridge: ridge alpha", "XOR task");
  app->add_option("--second-layer-margin", flags->second_layer_margin,
                  "xor_task.second_layer_margin: second-layer outlier margin over the decoy edge")
      ->group("XOR task");
  app->add_option("--decoy-draws", flags->decoy_draws,
                  "xor_task.decoy_draws: decoy samples behind the second layer's edge")
      ->group("XOR task");

  app->add_option("--c-delta", flags->c_delta, "sgd.c_delta: step size = c_delta / d")
      ->group("SGD");
  app->add_option("--step-size", flags->step_size, "sgd.step_size: overrides c_delta")
      ->group("SGD");
  app->add_option("--steps", flags->steps, "sgd.steps: SGD steps (0 = from t_end)")->group("SGD");
  app->add_option("--t-end", flags->t_end, "sgd.t_end: final time t = steps * step size")
      ->group("SGD");

  app->add_option("--schedule", flags->schedule, "schedule.kind: log | every")
      ->check(EnumNameValidator<v1::Schedule::Kind>(&ParseScheduleKind, "log | every"))
      ->group("Snapshots");
  app->add_option("--every-steps", flags->every_steps,
                  "schedule.every_steps: snapshot every N steps (implies --schedule every)")
      ->group("Snapshots");
  app->add_option("--num-points", flags->num_points,
                  "schedule.num_points: log-spaced snapshot times")
      ->group("Snapshots");
  app->add_option("--t-first", flags->t_first, "schedule.t_first: first log-spaced time > 0")
      ->group("Snapshots");

  app->add_option("--test-ratio", flags->test_ratio, "analysis.test_ratio: M_test / d")
      ->group("Analysis");
  app->add_option("--top-r", flags->top_r, "analysis.top_r: eigenpairs per class / neuron block")
      ->group("Analysis");
  app->add_option("--top-r-full", flags->top_r_full,
                  "analysis.top_r_full: eigenpairs of the full matrices (and the XOR first layer)")
      ->group("Analysis");
  app->add_option("--class-blocks", flags->class_blocks,
                  "analysis.class_blocks: analyse class / neuron blocks (true|false)")
      ->group("Analysis");
  app->add_option("--full-matrices", flags->full_matrices,
                  "analysis.full_matrices: analyse the full matrices (true|false)")
      ->group("Analysis");
  app->add_option("--g-matrix", flags->g_matrix, "analysis.g_matrix: analyse G too (true|false)")
      ->group("Analysis");
  app->add_option("--ncv", flags->ncv, "analysis.ncv: Krylov subspace size")->group("Analysis");
  app->add_option("--tol", flags->tol, "analysis.tol: Lanczos relative tolerance")
      ->group("Analysis");
  app->add_option("--max-restarts", flags->max_restarts, "analysis.max_restarts")
      ->group("Analysis");
  app->add_option("--outlier-method", flags->outlier_method,
                  "analysis.outlier_method: null | mp | gap | decoy")
      ->check(EnumNameValidator<v1::OutlierMethod>(&ParseOutlierMethod, "null | mp | gap | decoy"))
      ->group("Analysis");
  app->add_option("--outlier-margin", flags->outlier_margin,
                  "analysis.outlier_margin: outlier when > edge * (1 + margin)")
      ->group("Analysis");
  app->add_option("--gap-ratio", flags->gap_ratio, "analysis.gap_ratio: for --outlier-method gap")
      ->group("Analysis");
  app->add_option("--rank-tolerance", flags->rank_tolerance,
                  "analysis.rank_tolerance: relative singular-value cut for the weight rank")
      ->group("Analysis");
  app->add_option("--threads", flags->threads,
                  "analysis.threads: threads for this job's products (0 = server default)")
      ->group("Analysis");
  app->add_option("--solve-target", flags->solve_target,
                  "analysis.solve_target: outliers (converge the outliers and certify their "
                  "count) | top_r (exactly --top-r / --top-r-full pairs)")
      ->check(EnumNameValidator<v1::SolveTarget>(&ParseSolveTarget, "outliers | top_r"))
      ->group("Analysis");
  app->add_option("--certify-below", flags->certify_below,
                  "analysis.certify_below: converged pairs below the outlier threshold")
      ->group("Analysis");
  app->add_option("--null-tol", flags->null_tol,
                  "analysis.null_tol: tolerance of the null-model edge solves")
      ->group("Analysis");
  app->add_option("--random-stream-version", flags->random_stream_version,
                  "random_stream_version: 0 = newest; 1 = the streams of jobs before version 2")
      ->group("Job");

  app->option_defaults()->multi_option_policy(caller_policy);
}

bool ParseScheduleKind(const std::string& text, v1::Schedule::Kind* kind) {
  const std::string name = Lowercase(text);
  if (name == "log" || name == "log-spaced" || name == "log_spaced_time") {
    *kind = v1::Schedule::LOG_SPACED_TIME;
    return true;
  }
  if (name == "every" || name == "every-steps" || name == "every_steps") {
    *kind = v1::Schedule::EVERY_STEPS;
    return true;
  }
  return false;
}

bool ParseSolveTarget(const std::string& text, v1::SolveTarget* target) {
  const std::string name = Lowercase(text);
  if (name == "outliers") {
    *target = v1::OUTLIERS;
  } else if (name == "top_r" || name == "top-r") {
    *target = v1::TOP_R;
  } else {
    return false;
  }
  return true;
}

bool ParseOutlierMethod(const std::string& text, v1::OutlierMethod* method) {
  const std::string name = Lowercase(text);
  if (name == "null" || name == "null-model" || name == "null_model") {
    *method = v1::NULL_MODEL;
  } else if (name == "mp" || name == "marchenko-pastur" || name == "marchenko_pastur") {
    *method = v1::MARCHENKO_PASTUR;
  } else if (name == "gap" || name == "largest-gap" || name == "largest_gap") {
    *method = v1::LARGEST_GAP;
  } else if (name == "decoy" || name == "decoy-null" || name == "decoy_null") {
    *method = v1::DECOY_NULL;
  } else {
    return false;
  }
  return true;
}

Status ParseSpecJson(const std::string& json, v1::JobSpec* spec) {
  spec->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a misspelt field must not silently become a default
  const Status status = google::protobuf::util::JsonStringToMessage(json, spec, options);
  if (!status.ok()) {
    // protobuf's message already names the field ("kgmm.dimm: Cannot find field.").
    return google::protobuf::util::InvalidArgumentError(std::string(status.message()));
  }
  return Status();
}

Status ReadSpecFile(const std::string& path, v1::JobSpec* spec) {
  std::string json;
  if (path == "-") {
    json.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return google::protobuf::util::NotFoundError(path + ": cannot open spec file");
    std::ostringstream contents;
    contents << in.rdbuf();
    if (in.bad()) return google::protobuf::util::DataLossError(path + ": read error");
    json = contents.str();
  }
  const Status status = ParseSpecJson(json, spec);
  if (!status.ok()) {
    return google::protobuf::util::InvalidArgumentError(path + ": " +
                                                        std::string(status.message()));
  }
  return Status();
}

Status ApplySpecFlags(const SpecFlags& flags, v1::JobSpec* spec) {
  if (flags.name) spec->set_name(*flags.name);
  if (flags.seed) spec->set_seed(*flags.seed);
  if (flags.random_stream_version) spec->set_random_stream_version(*flags.random_stream_version);
  if (flags.progress_every_steps) spec->set_progress_every_steps(*flags.progress_every_steps);
  if (flags.memory_budget_bytes) spec->set_memory_budget_bytes(*flags.memory_budget_bytes);

  v1::JobSpec::TaskCase task = v1::JobSpec::kKgmm;
  std::string chosen_by;
  if (const Status status = ChooseTask(flags, *spec, &task, &chosen_by); !status.ok()) {
    return status;
  }
  const std::vector<std::string> wrong_task_flags =
      task == v1::JobSpec::kXorTask ? KgmmOnlyFlagsGiven(flags) : XorOnlyFlagsGiven(flags);
  if (!wrong_task_flags.empty()) {
    const std::string other = task == v1::JobSpec::kXorTask ? "kgmm" : "xor";
    return google::protobuf::util::InvalidArgumentError(
        wrong_task_flags.front() + ": only valid with --task " + other +
        ", but this job's task is " + TaskName(task) +
        (chosen_by == "default" ? "" : " (from " + chosen_by + ")"));
  }

  // mutable_kgmm() / mutable_xor_task() select the task; switching clears the other one.
  if (task == v1::JobSpec::kXorTask) {
    v1::XorTask* xor_task = spec->mutable_xor_task();
    if (flags.dim) xor_task->set_dim(*flags.dim);
    if (flags.snr) xor_task->set_snr(*flags.snr);
    if (flags.ridge) xor_task->set_ridge(*flags.ridge);
    if (flags.hidden) xor_task->set_hidden(*flags.hidden);
    if (flags.second_layer_margin) xor_task->set_second_layer_margin(*flags.second_layer_margin);
    if (flags.decoy_draws) xor_task->set_decoy_draws(*flags.decoy_draws);
  } else {
    v1::KgmmTask* kgmm = spec->mutable_kgmm();
    if (flags.dim) kgmm->set_dim(*flags.dim);
    if (flags.snr) kgmm->set_snr(*flags.snr);
    if (flags.ridge) kgmm->set_ridge(*flags.ridge);
    if (flags.num_classes) kgmm->set_num_classes(*flags.num_classes);
    if (!flags.class_probs.empty()) {
      kgmm->mutable_class_probs()->Assign(flags.class_probs.begin(), flags.class_probs.end());
    }
  }

  if (flags.c_delta) spec->mutable_sgd()->set_c_delta(*flags.c_delta);
  if (flags.step_size) spec->mutable_sgd()->set_step_size(*flags.step_size);
  if (flags.steps) spec->mutable_sgd()->set_steps(*flags.steps);
  if (flags.t_end) spec->mutable_sgd()->set_t_end(*flags.t_end);

  if (flags.schedule) {
    v1::Schedule::Kind kind;
    if (!ParseScheduleKind(*flags.schedule, &kind)) {
      return google::protobuf::util::InvalidArgumentError(
          "--schedule: unknown kind '" + *flags.schedule + "', expected log or every");
    }
    spec->mutable_schedule()->set_kind(kind);
  } else if (flags.every_steps) {
    spec->mutable_schedule()->set_kind(v1::Schedule::EVERY_STEPS);
  }
  if (flags.every_steps) spec->mutable_schedule()->set_every_steps(*flags.every_steps);
  if (flags.num_points) spec->mutable_schedule()->set_num_points(*flags.num_points);
  if (flags.t_first) spec->mutable_schedule()->set_t_first(*flags.t_first);

  v1::AnalysisSettings* analysis = spec->mutable_analysis();
  if (flags.test_ratio) analysis->set_test_ratio(*flags.test_ratio);
  if (flags.top_r) analysis->set_top_r(*flags.top_r);
  if (flags.top_r_full) analysis->set_top_r_full(*flags.top_r_full);
  if (flags.class_blocks) analysis->set_class_blocks(*flags.class_blocks);
  if (flags.full_matrices) analysis->set_full_matrices(*flags.full_matrices);
  if (flags.g_matrix) analysis->set_g_matrix(*flags.g_matrix);
  if (flags.ncv) analysis->set_ncv(*flags.ncv);
  if (flags.tol) analysis->set_tol(*flags.tol);
  if (flags.max_restarts) analysis->set_max_restarts(*flags.max_restarts);
  if (flags.outlier_method) {
    v1::OutlierMethod method;
    if (!ParseOutlierMethod(*flags.outlier_method, &method)) {
      return google::protobuf::util::InvalidArgumentError("--outlier-method: unknown method '" +
                                                          *flags.outlier_method +
                                                          "', expected null, mp, gap or decoy");
    }
    analysis->set_outlier_method(method);
  }
  if (flags.outlier_margin) analysis->set_outlier_margin(*flags.outlier_margin);
  if (flags.gap_ratio) analysis->set_gap_ratio(*flags.gap_ratio);
  if (flags.rank_tolerance) analysis->set_rank_tolerance(*flags.rank_tolerance);
  if (flags.threads) analysis->set_threads(*flags.threads);
  if (flags.solve_target) {
    v1::SolveTarget target;
    if (!ParseSolveTarget(*flags.solve_target, &target)) {
      return google::protobuf::util::InvalidArgumentError("--solve-target: unknown value '" +
                                                          *flags.solve_target +
                                                          "', expected outliers or top_r");
    }
    analysis->set_solve_target(target);
  }
  if (flags.certify_below) analysis->set_certify_below(*flags.certify_below);
  if (flags.null_tol) analysis->set_null_tol(*flags.null_tol);
  // An analysis message with nothing set is equal to none; drop it so the spec stays minimal.
  if (analysis->ByteSizeLong() == 0) spec->clear_analysis();
  return Status();
}

Status BuildJobSpec(const SpecFlags& flags, v1::JobSpec* spec) {
  spec->Clear();
  if (!flags.spec_file.empty()) {
    const Status status = ReadSpecFile(flags.spec_file, spec);
    if (!status.ok()) return status;
  }
  // ApplySpecFlags always selects a task (k-GMM when nothing chose one).
  return ApplySpecFlags(flags, spec);
}

}  // namespace sgdspectra::client
