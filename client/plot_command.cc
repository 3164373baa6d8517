#include "client/plot_command.h"

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "client/connection.h"
#include "client/exit_codes.h"
#include "client/plot/event_source.h"
#include "client/plot/figure.h"
#include "client/plot/html_report.h"
#include "client/plot/job_figures.h"
#include "client/plot/job_record.h"
#include "client/plot/png_export.h"
#include "client/plot/sweep_figures.h"
#include "client/server_target.h"

namespace sgdspectra::client {
namespace {

namespace fs = std::filesystem;
using plot::Figure;
using plot::ReportPage;
using Status = google::protobuf::util::Status;

constexpr char kRsvgConvert[] = "rsvg-convert";

enum class SourceKind { kSweep, kEventsFile, kStdin, kJobId, kMissingPath, kBadDirectory };

SourceKind DetectSource(const std::string& source) {
  if (source == "-") return SourceKind::kStdin;
  std::error_code error;
  const fs::file_status status = fs::status(source, error);
  if (fs::is_directory(status)) {
    return fs::exists(fs::path(source) / "summary.csv", error) ? SourceKind::kSweep
                                                               : SourceKind::kBadDirectory;
  }
  if (fs::exists(status)) return SourceKind::kEventsFile;
  const fs::path path(source);
  const std::string extension = path.extension().string();
  if (source.find('/') != std::string::npos || extension == ".jsonl" || extension == ".json" ||
      extension == ".csv") {
    return SourceKind::kMissingPath;
  }
  return SourceKind::kJobId;
}

// A job id as one path component: anything but [A-Za-z0-9._-] becomes '_'.
std::string SafeFileComponent(const std::string& text) {
  std::string safe = text.empty() ? "unknown" : text;
  for (char& c : safe) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '_' && c != '-') c = '_';
  }
  if (safe == "." || safe == "..") safe = "_";
  return safe;
}

int UsageError(const CommandContext& context, const std::string& message) {
  *context.err << "error: " << message << std::endl;
  return kExitUsage;
}

int OutputError(const CommandContext& context, const std::string& message) {
  *context.err << "error: " << message << std::endl;
  return kExitOutputError;
}

// Through a temporary file and a rename, so a reader never sees half a figure.
bool WriteTextFile(const fs::path& path, const std::string& text, std::string* error) {
  const fs::path temporary = path.string() + ".tmp." + std::to_string(getpid());
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file << text;
    file.flush();
    if (!file) {
      *error = "cannot write " + temporary.string();
      std::error_code ignored;
      fs::remove(temporary, ignored);
      return false;
    }
  }
  std::error_code rename_error;
  fs::rename(temporary, path, rename_error);
  if (rename_error) {
    *error = "cannot rename " + temporary.string() + " to " + path.string() + ": " +
             rename_error.message();
    std::error_code ignored;
    fs::remove(temporary, ignored);
    return false;
  }
  return true;
}

// Writes every figure (SVG, PNG when `rsvg_convert` is not empty) and report.html into
// `out_dir`, printing each path written.
int WriteOutputs(const CommandContext& context, const fs::path& out_dir, const ReportPage& page,
                 const std::string& rsvg_convert) {
  std::error_code error;
  fs::create_directories(out_dir, error);
  if (error)
    return OutputError(context, "cannot create " + out_dir.string() + ": " + error.message());
  std::string message;
  for (const Figure& figure : page.figures) {
    const fs::path svg_path = out_dir / (figure.name + ".svg");
    if (!WriteTextFile(svg_path, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + figure.svg,
                       &message)) {
      return OutputError(context, message);
    }
    *context.out << svg_path.string() << "\n";
    if (rsvg_convert.empty()) continue;
    const fs::path png_path = out_dir / (figure.name + ".png");
    const Status status = plot::ConvertSvgToPng(rsvg_convert, svg_path.string(), png_path.string());
    if (!status.ok()) return OutputError(context, std::string(status.message()));
    *context.out << png_path.string() << "\n";
  }
  const fs::path report_path = out_dir / "report.html";
  if (!WriteTextFile(report_path, plot::RenderReportHtml(page), &message)) {
    return OutputError(context, message);
  }
  *context.out << report_path.string() << "\n";
  context.out->flush();
  return kExitOk;
}

// The events of the job named by options.source, from the server; an exit code.
int FetchEvents(const CommandContext& context, const PlotOptions& options,
                std::vector<v1::JobEvent>* events) {
  std::shared_ptr<grpc::Channel> channel = context.channel;
  // A job lives on the replica that accepted it: with several, talk to that one.
  if (context.target.several_endpoints()) {
    std::string endpoint;
    const grpc::Status located =
        LocateJob(context.target, options.source, context.timeout_seconds, &channel, &endpoint);
    if (!located.ok()) {
      *context.err << "error: " << FormatRpcError(located) << std::endl;
      return kExitRpcError;
    }
  }
  if (channel == nullptr) return UsageError(context, "no server to ask for job " + options.source);
  const grpc::Status status =
      plot::FetchJobEvents(channel, options.source, options.wait, context.timeout_seconds, events);
  if (!status.ok()) {
    *context.err << "error: " << FormatRpcError(status) << std::endl;
    return kExitRpcError;
  }
  return kExitOk;
}

ReportPage JobPage(const plot::JobRecord& job, const std::string& source,
                   const PlotOptions& options) {
  plot::JobFigureOptions figure_options;
  figure_options.times = options.times;
  figure_options.all_blocks = options.all_blocks;
  plot::JobFigures figures = plot::MakeJobFigures(job, figure_options);

  ReportPage page;
  page.title = "sgdspectra job " + (job.job_id.empty() ? std::string("?") : job.job_id);
  if (job.accepted) page.title += ": " + plot::TaskDescription(job.accepted->resolved_spec());
  page.parameters = plot::JobParameters(job);
  page.parameters.emplace_back("source", source);
  page.notes = std::move(figures.notes);
  if (job.accepted) {
    google::protobuf::util::JsonPrintOptions json_options;
    json_options.add_whitespace = true;
    json_options.always_print_primitive_fields = true;
    std::string json;
    if (google::protobuf::util::MessageToJsonString(job.accepted->resolved_spec(), &json,
                                                    json_options)
            .ok()) {
      page.details_summary = "resolved spec (proto3 JSON)";
      page.details_text = json;
    }
  }
  page.figures = std::move(figures.figures);
  return page;
}

ReportPage SweepPage(const plot::SweepData& sweep) {
  ReportPage page;
  page.title = "sgdspectra sweep " + sweep.directory;
  page.parameters.emplace_back("folder", sweep.directory);
  page.parameters.emplace_back("jobs", std::to_string(sweep.jobs.size()));
  page.parameters.emplace_back("groups", std::to_string(plot::SweepGroups(sweep).size()));

  plot::HtmlTable counts;
  counts.caption = "Jobs per group (from summary.csv)";
  counts.header = {"group", "jobs", "finished", "successes"};
  for (const plot::GroupCounts& group : plot::CountGroups(sweep)) {
    counts.rows.push_back({group.group, std::to_string(group.jobs), std::to_string(group.finished),
                           std::to_string(group.successes)});
  }
  page.tables.push_back(std::move(counts));
  if (sweep.aggregates) {
    page.tables.push_back({"aggregates.csv", sweep.aggregates->header, sweep.aggregates->rows});
  } else {
    page.notes.push_back("No aggregates.csv in the folder.");
  }
  std::ifstream definition(fs::path(sweep.directory) / "sweep.json");
  if (definition) {
    std::ostringstream text;
    text << definition.rdbuf();
    page.details_summary = "sweep.json";
    page.details_text = text.str();
  }
  page.figures = plot::MakeSweepFigures(sweep);
  return page;
}

}  // namespace

void AddPlotOptions(CLI::App* plot_subcommand, PlotOptions* options) {
  plot_subcommand
      ->add_option("source", options->source,
                   "A sweep folder (holding summary.csv), an events file (JSON lines of "
                   "`run/watch -o jsonl`; - = stdin) or a job id (fetched with WatchJob)")
      ->required();
  plot_subcommand->add_option(
      "--out", options->out_dir,
      "Output folder (default: SWEEP/plots, <events file stem>-plots beside the file, "
      "./sgdspectra-plots-<job id>)");
  plot_subcommand
      ->add_option("--times", options->times,
                   "Comma-separated times t for the spectrum histograms (nearest snapshot "
                   "each; default: first, middle and last snapshot)")
      ->delimiter(',');
  plot_subcommand
      ->add_option("--png", options->png,
                   "PNG beside each SVG via rsvg-convert: auto (if in PATH) | always | never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  plot_subcommand
      ->add_option_function<std::string>(
          "--blocks", [options](const std::string& value) { options->all_blocks = value == "all"; },
          "Class / neuron blocks drawn over time: first (the first 4) | all")
      ->check(CLI::IsMember({"first", "all"}));
  plot_subcommand->add_flag("--wait", options->wait,
                            "For a job id: wait until the job ends (default: plot the events "
                            "recorded so far)");
}

int PlotCommand(const CommandContext& context, const PlotOptions& options) {
  std::string rsvg_convert;
  if (options.png != "never") {
    rsvg_convert = plot::FindInPath(kRsvgConvert);
    if (rsvg_convert.empty() && options.png == "always") {
      return OutputError(context,
                         "--png always: rsvg-convert is not in PATH (Debian package "
                         "librsvg2-bin)");
    }
  }

  const SourceKind kind = DetectSource(options.source);
  fs::path out_dir = options.out_dir;
  ReportPage page;
  switch (kind) {
    case SourceKind::kMissingPath:
      return UsageError(context, options.source + ": no such file or directory");
    case SourceKind::kBadDirectory:
      return UsageError(context,
                        options.source + ": a directory without summary.csv (not a sweep folder)");
    case SourceKind::kSweep: {
      plot::SweepData sweep;
      const Status status = plot::ReadSweep(options.source, &sweep);
      if (!status.ok()) return UsageError(context, std::string(status.message()));
      if (out_dir.empty()) out_dir = fs::path(options.source) / "plots";
      page = SweepPage(sweep);
      break;
    }
    case SourceKind::kEventsFile:
    case SourceKind::kStdin:
    case SourceKind::kJobId: {
      std::vector<v1::JobEvent> events;
      if (kind == SourceKind::kJobId) {
        const int exit_code = FetchEvents(context, options, &events);
        if (exit_code != kExitOk) return exit_code;
      } else {
        const Status status = kind == SourceKind::kStdin
                                  ? plot::ParseEventLines(std::cin, "stdin", &events)
                                  : plot::ReadEventsFile(options.source, &events);
        if (!status.ok()) return UsageError(context, std::string(status.message()));
        // Nothing to draw and nothing to say: an empty file is a mistake, not a blank report.
        if (events.empty()) return UsageError(context, options.source + ": holds no events");
      }
      plot::JobRecord job;
      const Status status = plot::CollectJob(events, &job);
      if (!status.ok())
        return UsageError(context, options.source + ": " + std::string(status.message()));
      if (kind == SourceKind::kJobId && job.job_id.empty()) job.job_id = options.source;
      if (out_dir.empty()) {
        if (kind == SourceKind::kEventsFile) {
          const fs::path path(options.source);
          out_dir = path.parent_path() / (path.stem().string() + "-plots");
        } else {
          out_dir = "sgdspectra-plots-" + SafeFileComponent(job.job_id);
        }
      }
      page = JobPage(job, options.source, options);
      break;
    }
  }
  return WriteOutputs(context, out_dir, page, rsvg_convert);
}

}  // namespace sgdspectra::client
