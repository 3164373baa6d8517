#include "client/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>

#include "client/channel_security.h"
#include "client/commands.h"
#include "client/connection.h"
#include "client/exit_codes.h"
#include "client/render.h"
#include "client/server_target.h"
#include "client/spec_builder.h"
#include "client/sweep_command.h"

#ifndef SGDSPECTRA_CLIENT_VERSION
#define SGDSPECTRA_CLIENT_VERSION "unknown"
#endif

namespace sgdspectra::client {
namespace {

const CLI::Validator& OutputFormatValidator() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        OutputFormat format;
        return ParseOutputFormat(text, &format) ? "" : "expected table, jsonl or csv";
      },
      "table|jsonl|csv");
  return validator;
}

bool ParseJobState(const std::string& text, v1::JobState* state) {
  std::string name = text;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return v1::JobState_Parse(name, state) && *state != v1::JOB_STATE_UNSPECIFIED;
}

// The flag values of every subcommand; only the chosen subcommand's are filled in.
struct ParsedFlags {
  std::string server = kDefaultServerAddress;
  double timeout_seconds = 30;
  SecurityFlags security;
  SpecFlags spec;
  std::string output = "table";
  std::string layer = "all";
  bool cancel_on_exit = false;
  std::string job_id;
  std::int64_t after_seq = 0;
  std::string state_filter;
  std::int32_t page_size = 0;
  std::string page_token;
  bool all_pages = false;
  std::string result_output = "json";
  bool include_test_sample = false;
  std::string out_path;
  std::string health_service;
  SweepOptions sweep;
};

void AddOutputOption(CLI::App* command, std::string* output) {
  command->add_option("--output,-o", *output, "Output format: table | jsonl | csv")
      ->check(OutputFormatValidator())
      ->capture_default_str();
}

// --layer: which spectrum rows the table and csv views show.
void AddLayerOption(CLI::App* command, std::string* layer) {
  command
      ->add_option("--layer", *layer,
                   "Spectrum rows shown (table, csv): all | class | full (k-GMM); "
                   "all | neuron | layer1 | layer2 | full (XOR)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            BlockFilter filter;
            return ParseBlockFilter(text, &filter) ? ""
                                                   : "unknown layer '" + text +
                                                         "', expected all, class, neuron, layer1, "
                                                         "layer2 or full";
          },
          "LAYER"))
      ->capture_default_str();
}

void AddJobIdArgument(CLI::App* command, std::string* job_id) {
  command->add_option("job_id", *job_id, "Job id (from submit, run or list)")->required();
}

// The subcommands as registered; after parsing, the one chosen has parsed() == true.
struct Subcommands {
  CLI::App* run = nullptr;
  CLI::App* submit = nullptr;
  CLI::App* watch = nullptr;
  CLI::App* get = nullptr;
  CLI::App* list = nullptr;
  CLI::App* cancel = nullptr;
  CLI::App* result = nullptr;
  CLI::App* health = nullptr;
  CLI::App* sweep = nullptr;
};

// TLS and the bearer token (client/channel_security.h). Each takes its value from an environment
// variable too, like --server; the token itself only from a file or $SGDSPECTRA_TOKEN, never
// from a flag value that `ps` would show.
void AddSecurityOptions(CLI::App* app, SecurityFlags* security) {
  app->add_flag("--tls", security->tls,
                "Use TLS with gRPC's default root certificates (implied by --tls-ca, --tls-cert)")
      ->envname("SGDSPECTRA_TLS");
  app->add_option("--tls-ca", security->tls_ca,
                  "Use TLS; trust server certificates signed by the CA(s) in this PEM file")
      ->envname("SGDSPECTRA_TLS_CA")
      ->check(CLI::ExistingFile);
  app->add_option("--tls-cert", security->tls_cert,
                  "Client certificate (PEM) for servers that require one (mutual TLS); "
                  "needs --tls-key")
      ->envname("SGDSPECTRA_TLS_CERT")
      ->check(CLI::ExistingFile);
  app->add_option("--tls-key", security->tls_key, "Private key (PEM) of --tls-cert")
      ->envname("SGDSPECTRA_TLS_KEY")
      ->check(CLI::ExistingFile);
  app->add_option("--tls-server-name", security->tls_server_name,
                  "Name the server certificate must carry, when --server names it otherwise "
                  "(an IP address, a list of replicas)")
      ->envname("SGDSPECTRA_TLS_SERVER_NAME");
  app->add_option("--token-file", security->token_file,
                  "File holding the bearer token sent with every call (default: the "
                  "SGDSPECTRA_TOKEN environment variable)")
      ->envname("SGDSPECTRA_TOKEN_FILE")
      ->check(CLI::ExistingFile);
}

void AddGlobalOptions(CLI::App* app, ParsedFlags* flags) {
  app->set_version_flag("--version", SGDSPECTRA_CLIENT_VERSION);
  app->footer(kExitCodeHelp);
  app->require_subcommand(1);
  app->fallthrough();  // global options may also follow the subcommand
  app->add_option("--server,-s", flags->server,
                  "Server HOST:PORT, or several replicas: H1:P1,H2:P2 or a name resolving to "
                  "several addresses (dns:///NAME:PORT); new jobs are balanced round-robin")
      ->envname("SGDSPECTRA_SERVER")
      ->capture_default_str();
  app->add_option("--timeout", flags->timeout_seconds,
                  "Deadline in seconds of each non-streaming RPC (0 = none)")
      ->capture_default_str();
  AddSecurityOptions(app, &flags->security);
}

// run, submit, watch: the commands that start or follow one job.
void AddJobStreamCommands(CLI::App* app, ParsedFlags* flags, Subcommands* commands) {
  CLI::App* run = commands->run =
      app->add_subcommand("run", "Submit a job and stream its events to the end");
  AddSpecOptions(run, &flags->spec);
  AddOutputOption(run, &flags->output);
  AddLayerOption(run, &flags->layer);
  run->add_flag("--cancel-on-exit", flags->cancel_on_exit,
                "On Ctrl-C cancel the job (default: detach, the job goes on)");

  CLI::App* submit = commands->submit = app->add_subcommand("submit", "Submit a job; print its id");
  AddSpecOptions(submit, &flags->spec);
  AddOutputOption(submit, &flags->output);

  CLI::App* watch = commands->watch =
      app->add_subcommand("watch", "Stream a job's events until it ends");
  AddJobIdArgument(watch, &flags->job_id);
  watch->add_option("--after-seq", flags->after_seq, "Only events with seq > N (re-attach)");
  AddOutputOption(watch, &flags->output);
  AddLayerOption(watch, &flags->layer);
  watch->add_flag("--cancel-on-exit", flags->cancel_on_exit,
                  "On Ctrl-C cancel the job (default: detach, the job goes on)");
}

// get, list, cancel, result and health: one request each.
void AddJobQueryCommands(CLI::App* app, ParsedFlags* flags, Subcommands* commands) {
  CLI::App* get = commands->get = app->add_subcommand("get", "Show one job");
  AddJobIdArgument(get, &flags->job_id);
  AddOutputOption(get, &flags->output);

  CLI::App* list = commands->list = app->add_subcommand("list", "List jobs, newest first");
  list->add_option("--state", flags->state_filter,
                   "Only jobs in this state: QUEUED | RUNNING | SUCCEEDED | FAILED | CANCELLED")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            v1::JobState state;
            return ParseJobState(text, &state) ? "" : "unknown job state '" + text + "'";
          },
          "STATE"));
  list->add_option("--page-size", flags->page_size, "Jobs per page (0 = server default)");
  list->add_option("--page-token", flags->page_token, "Continue after a previous page");
  list->add_flag("--all", flags->all_pages, "Follow page tokens to the last page");
  AddOutputOption(list, &flags->output);

  CLI::App* cancel = commands->cancel =
      app->add_subcommand("cancel", "Cancel a queued or running job");
  AddJobIdArgument(cancel, &flags->job_id);
  AddOutputOption(cancel, &flags->output);

  CLI::App* result = commands->result =
      app->add_subcommand("result", "Final weights, means and spec of a finished job (JSON)");
  AddJobIdArgument(result, &flags->job_id);
  result->add_option("--output,-o", flags->result_output, "Output format: json")
      ->check(CLI::IsMember({"json"}))
      ->capture_default_str();
  result->add_flag("--include-test-sample", flags->include_test_sample,
                   "Also the test sample (inputs and labels) the job analysed");
  result->add_option("--out", flags->out_path, "Write to FILE instead of stdout");

  commands->health = app->add_subcommand(
      "health", "grpc.health.v1 check: exit 0 if the server is SERVING, else non-zero");
  commands->health->add_option("--service", flags->health_service,
                               "Service name (default: whole server)");
}

// sweep: many jobs into one results folder. (Figures: python -m sgdspectra.plot, in
// clients/python.)
void AddSweepCommand(CLI::App* app, ParsedFlags* flags, Subcommands* commands) {
  commands->sweep = app->add_subcommand(
      "sweep", "Run a grid of jobs (seeds x spec fields) and write a results folder");
  AddSweepOptions(commands->sweep, &flags->sweep);
}

// The connection and streams every command uses; false with *error for a bad --server, TLS
// file or token, or a token that would cross the network in plaintext.
bool MakeContext(const ParsedFlags& flags, CommandContext* context, std::string* error) {
  if (!ParseServerTarget(flags.server, &context->target, error)) return false;
  if (!LoadChannelSecurity(flags.security, &context->target.security, error) ||
      !CheckTokenTransport(context->target.endpoints, context->target.security, error)) {
    return false;
  }
  context->server_address = flags.server;
  context->channel = MakeBalancedChannel(context->target);
  context->timeout_seconds = flags.timeout_seconds;
  context->out = &std::cout;
  context->err = &std::cerr;
  context->out_is_terminal = isatty(STDOUT_FILENO) == 1;
  return true;
}

// run / submit: the spec from the flags, checked before anything is sent.
int RunOrSubmit(const Subcommands& commands, const ParsedFlags& flags,
                const CommandContext& context, const StreamOptions& stream_options) {
  v1::JobSpec spec;
  const Status status = BuildJobSpec(flags.spec, &spec);
  if (!status.ok()) {
    std::cerr << "error: " << status.message() << std::endl;
    return kExitUsage;
  }
  // A --layer of the other task would hide every spectrum row. (watch cannot tell before the
  // stream starts; there such a filter just shows no rows.)
  if (commands.run->parsed() && !BlockFilterFitsTask(stream_options.layer, spec.task_case())) {
    std::cerr << "error: --layer " << flags.layer << ": no such blocks in a "
              << (spec.has_xor_task() ? "xor" : "kgmm") << " job; expected "
              << BlockFilterNames(spec.task_case()) << std::endl;
    return kExitUsage;
  }
  if (commands.run->parsed()) return RunJobCommand(context, spec, stream_options);
  return SubmitJobCommand(context, spec, stream_options.output);
}

// watch, get, list, cancel, result, health: commands about jobs that exist.
int RunJobQuery(const Subcommands& commands, const ParsedFlags& flags, CommandContext* context,
                const StreamOptions& stream_options) {
  // A job lives on the replica that accepted it: with several, talk to that one.
  if ((commands.watch->parsed() || commands.get->parsed() || commands.cancel->parsed() ||
       commands.result->parsed()) &&
      context->target.several_endpoints()) {
    const grpc::Status located = LocateJob(context->target, flags.job_id, flags.timeout_seconds,
                                           &context->channel, &context->server_address);
    if (!located.ok()) {
      std::cerr << "error: " << FormatRpcError(located) << std::endl;
      return kExitRpcError;
    }
  }
  const OutputFormat output = stream_options.output;
  if (commands.watch->parsed()) {
    return WatchJobCommand(*context, flags.job_id, flags.after_seq, stream_options);
  }
  if (commands.get->parsed()) return GetJobCommand(*context, flags.job_id, output);
  if (commands.list->parsed()) {
    ListOptions list_options;
    list_options.output = output;
    if (!flags.state_filter.empty()) ParseJobState(flags.state_filter, &list_options.state_filter);
    list_options.page_size = flags.page_size;
    list_options.page_token = flags.page_token;
    list_options.all_pages = flags.all_pages;
    return ListJobsCommand(*context, list_options);
  }
  if (commands.cancel->parsed()) return CancelJobCommand(*context, flags.job_id, output);
  if (commands.result->parsed()) {
    ResultOptions result_options;
    result_options.include_test_sample = flags.include_test_sample;
    result_options.out_path = flags.out_path;
    return GetResultCommand(*context, flags.job_id, result_options);
  }
  if (commands.health->parsed()) return HealthCommand(*context, flags.health_service);
  return kExitUsage;  // unreachable: require_subcommand(1)
}

}  // namespace

int RunCli(int argc, char** argv) {
  ParsedFlags flags;
  Subcommands commands;
  CLI::App app{
      "sgdspectra: drive online-SGD spectral experiments on an sgdspectra server.\n"
      "Each job runs SGD on a Gaussian-mixture task and streams snapshots of the outlier\n"
      "eigenvalues of its Hessian / G-matrix blocks; see proto/sgdspectra/v1/jobs.proto.",
      "sgdspectra"};
  AddGlobalOptions(&app, &flags);
  // Registration order is the order --help lists them in.
  AddJobStreamCommands(&app, &flags, &commands);
  AddJobQueryCommands(&app, &flags, &commands);
  AddSweepCommand(&app, &flags, &commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int cli11_code = app.exit(error);  // prints help, version or the error
    return cli11_code == 0 ? kExitOk : kExitUsage;
  }

  CommandContext context;
  std::string target_error;
  if (!MakeContext(flags, &context, &target_error)) {
    std::cerr << "error: " << target_error << std::endl;
    return kExitUsage;
  }
  StreamOptions stream_options;
  ParseOutputFormat(flags.output, &stream_options.output);  // checked by OutputFormatValidator
  stream_options.cancel_on_exit = flags.cancel_on_exit;
  ParseBlockFilter(flags.layer, &stream_options.layer);  // checked by AddLayerOption's validator

  if (commands.run->parsed() || commands.submit->parsed()) {
    return RunOrSubmit(commands, flags, context, stream_options);
  }
  if (commands.sweep->parsed()) return SweepCommand(context, flags.sweep);
  return RunJobQuery(commands, flags, &context, stream_options);
}

}  // namespace sgdspectra::client
