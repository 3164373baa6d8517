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

bool ParseTaskName(const std::string& text, bool* is_kgmm) {
  *is_kgmm = Lowercase(text) == "kgmm" || Lowercase(text) == "k-gmm";
  return *is_kgmm;
}

}  // namespace

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
  app->add_option("--task", flags->task, "task: kgmm (the only task of v1)")
      ->check(EnumNameValidator<bool>(&ParseTaskName, "kgmm"))
      ->group("Job");
  app->add_option("--progress-every-steps", flags->progress_every_steps,
                  "progress_every_steps: SGD steps between progress events")
      ->group("Job");
  app->add_option("--memory-budget-bytes", flags->memory_budget_bytes,
                  "memory_budget_bytes: refuse the job above this estimated peak")
      ->group("Job");

  app->add_option("--d,--dim", flags->dim, "kgmm.dim: input dimension d")->group("k-GMM task");
  app->add_option("--k,--num-classes", flags->num_classes, "kgmm.num_classes: classes k")
      ->group("k-GMM task");
  app->add_option("--lambda,--snr", flags->snr, "kgmm.snr: signal-to-noise ratio lambda")
      ->group("k-GMM task");
  app->add_option("--beta,--ridge", flags->ridge, "kgmm.ridge: ridge beta")->group("k-GMM task");
  app->add_option(
         "--class-probs", flags->class_probs,
         "kgmm.class_probs: k comma-separated class probabilities (a second --class-probs appends)")
      ->delimiter(',')
      ->group("k-GMM task");

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
  app->add_option("--top-r", flags->top_r, "analysis.top_r: eigenpairs per class block")
      ->group("Analysis");
  app->add_option("--top-r-full", flags->top_r_full,
                  "analysis.top_r_full: eigenpairs of the full matrices")
      ->group("Analysis");
  app->add_option("--class-blocks", flags->class_blocks,
                  "analysis.class_blocks: analyse class blocks (true|false)")
      ->group("Analysis");
  app->add_option("--full-matrices", flags->full_matrices,
                  "analysis.full_matrices: analyse the full kd x kd matrices (true|false)")
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
  if (flags.task) {
    bool is_kgmm = false;
    if (!ParseTaskName(*flags.task, &is_kgmm)) {
      return google::protobuf::util::InvalidArgumentError("--task: unknown task '" + *flags.task +
                                                          "', expected kgmm");
    }
    spec->mutable_kgmm();
  }
  if (flags.progress_every_steps) spec->set_progress_every_steps(*flags.progress_every_steps);
  if (flags.memory_budget_bytes) spec->set_memory_budget_bytes(*flags.memory_budget_bytes);

  // mutable_kgmm() selects the k-GMM task: any k-GMM flag implies it.
  if (flags.dim) spec->mutable_kgmm()->set_dim(*flags.dim);
  if (flags.num_classes) spec->mutable_kgmm()->set_num_classes(*flags.num_classes);
  if (flags.snr) spec->mutable_kgmm()->set_snr(*flags.snr);
  if (flags.ridge) spec->mutable_kgmm()->set_ridge(*flags.ridge);
  if (!flags.class_probs.empty()) {
    auto* probs = spec->mutable_kgmm()->mutable_class_probs();
    probs->Assign(flags.class_probs.begin(), flags.class_probs.end());
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
  const Status status = ApplySpecFlags(flags, spec);
  if (!status.ok()) return status;
  if (spec->task_case() == v1::JobSpec::TASK_NOT_SET) spec->mutable_kgmm();
  return Status();
}

}  // namespace sgdspectra::client
