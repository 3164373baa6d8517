// `sgdspectra plot` in-process (client/plot_command.h) on events files and sweep folders, and
// the JSON-lines reader under it (client/plot/event_source.h). Job ids need a server: see
// plot_render_test.py.
#include "client/plot_command.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "client/exit_codes.h"
#include "client/plot/event_source.h"
#include "client/plot/png_export.h"
#include "scratch_dir.h"
#include "svg_elements.h"

namespace sgdspectra::client {
namespace {

using ::sgdspectra::testing::ParseSvg;
using ::sgdspectra::testing::ScratchDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
namespace fs = std::filesystem;

std::string JsonLine(const v1::JobEvent& event) {
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(event, &json).ok());
  return json;
}

// A small k-GMM job: Accepted, two snapshots of class block 0 and the full H, Finished.
std::string EventsJsonl() {
  std::string text;
  v1::JobEvent accepted;
  accepted.set_job_id("j-cmd-1");
  accepted.set_seq(1);
  v1::JobSpec* spec = accepted.mutable_accepted()->mutable_resolved_spec();
  spec->set_seed(4);
  spec->mutable_kgmm()->set_dim(50);
  spec->mutable_kgmm()->set_num_classes(2);
  spec->mutable_kgmm()->set_snr(20);
  spec->mutable_analysis()->set_outlier_margin(0.05);
  text += JsonLine(accepted) + "\n\n";  // a blank line is skipped
  for (int s = 0; s < 2; ++s) {
    v1::JobEvent event;
    event.set_job_id("j-cmd-1");
    event.set_seq(2 + s);
    v1::Snapshot* snapshot = event.mutable_snapshot();
    snapshot->set_index(s);
    snapshot->set_time(2.0 * s);
    snapshot->set_test_accuracy(0.5 + 0.25 * s);
    for (v1::BlockKind block : {v1::CLASS_BLOCK, v1::FULL}) {
      v1::Spectrum* spectrum = snapshot->add_spectra();
      spectrum->set_matrix(v1::HESSIAN);
      spectrum->set_block(block);
      spectrum->set_block_index(block == v1::FULL ? -1 : 0);
      for (double value : {0.3, 0.2, 0.01, 0.009}) spectrum->add_top_eigenvalues(value * (1 + s));
      spectrum->set_bulk_edge(0.011);
      spectrum->set_expected_outliers(2);
    }
    text += JsonLine(event) + "\n";
  }
  v1::JobEvent finished;
  finished.set_job_id("j-cmd-1");
  finished.set_seq(4);
  finished.mutable_finished()->set_state(v1::SUCCEEDED);
  // A field from a newer server is ignored.
  std::string line = JsonLine(finished);
  line.insert(1, "\"fieldFromTheFuture\":42,");
  return text + line + "\n";
}

struct PlotRun {
  int exit_code;
  std::string out;
  std::string err;
};

PlotRun RunPlot(const std::vector<std::string>& args) {
  PlotOptions options;
  CLI::App app{"plot"};
  AddPlotOptions(&app, &options);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    return {kExitUsage, "", error.what()};
  }
  std::ostringstream out;
  std::ostringstream err;
  CommandContext context;
  context.out = &out;
  context.err = &err;
  const int code = PlotCommand(context, options);
  return {code, out.str(), err.str()};
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(EventSourceTest, ParsesLinesSkipsBlanksIgnoresUnknownFields) {
  std::istringstream in(EventsJsonl());
  std::vector<v1::JobEvent> events;
  const auto status = plot::ParseEventLines(in, "e.jsonl", &events);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_TRUE(events[0].has_accepted());
  EXPECT_EQ(events[2].snapshot().spectra(1).top_eigenvalues(0), 0.6);
  EXPECT_EQ(events[3].finished().state(), v1::SUCCEEDED);
}

TEST(EventSourceTest, ABadLineIsAnErrorNamingFileAndLine) {
  std::istringstream in(EventsJsonl() + "{\"seq\": \"x\"}\n");
  std::vector<v1::JobEvent> events;
  const auto status = plot::ParseEventLines(in, "e.jsonl", &events);
  EXPECT_FALSE(status.ok());
  // Accepted, a blank line, 2 snapshots, finished: the bad line is line 6.
  EXPECT_THAT(std::string(status.message()), HasSubstr("e.jsonl:6: not a JobEvent"));
}

TEST(PlotCommandTest, EventsFileWritesEverySvgAReportAndPrintsThePaths) {
  ScratchDir dir;
  const std::string events = dir.Write("run.events.jsonl", EventsJsonl());
  const PlotRun run = RunPlot({events, "--png", "never"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(run.err, IsEmpty());
  const std::string out_dir = dir / "run.events-plots";  // default: <stem>-plots beside the file
  std::vector<std::string> names;
  for (const std::string& path : Lines(run.out)) {
    EXPECT_EQ(fs::path(path).parent_path().string(), out_dir);
    EXPECT_TRUE(fs::exists(path)) << path;
    names.push_back(fs::path(path).filename().string());
  }
  EXPECT_THAT(names,
              ElementsAre("eigenvalues_H_class0.svg", "eigenvalues_H_full.svg", "alignment.svg",
                          "accuracy.svg", "spectrum_t0.svg", "spectrum_t2.svg", "report.html"));
  // Standalone SVG files: an XML declaration, then well-formed SVG.
  const std::string svg = ReadFile(out_dir + "/eigenvalues_H_class0.svg");
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 0), 0u);
  EXPECT_EQ(ParseSvg(svg).error, "");
  EXPECT_EQ(ParseSvg(svg).OfClass("point").size(), 8u);  // 4 eigenvalues x 2 snapshots

  // The report inlines every figure (no XML declaration inside HTML), with the parameters.
  const std::string html = ReadFile(out_dir + "/report.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  size_t svgs = 0;
  for (size_t at = html.find("<svg "); at != std::string::npos; at = html.find("<svg ", at + 1)) {
    ++svgs;
  }
  EXPECT_EQ(svgs, 6u);
  EXPECT_THAT(html, Not(HasSubstr("<?xml")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("href=")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, HasSubstr("k-GMM d=50 k=2 lambda=20 beta=0"));
  EXPECT_THAT(html, HasSubstr("<td>4</td>"));  // the seed
  EXPECT_EQ(
      ParseSvg(html.substr(html.find("<svg "), html.find("</svg>") + 6 - html.find("<svg "))).error,
      "");
}

TEST(PlotCommandTest, OutAndTimesAndPngAccordingToRsvgConvert) {
  ScratchDir dir;
  const std::string events = dir.Write("e.jsonl", EventsJsonl());
  const PlotRun run = RunPlot({events, "--out", dir / "figs", "--times", "1.5"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const std::vector<std::string> lines = Lines(run.out);
  EXPECT_TRUE(fs::exists(dir / "figs/spectrum_t2.svg"));  // t = 1.5 is nearest to 2
  EXPECT_FALSE(fs::exists(dir / "figs/spectrum_t0.svg"));
  const bool have_rsvg = !plot::FindInPath("rsvg-convert").empty();
  EXPECT_EQ(fs::exists(dir / "figs/accuracy.png"), have_rsvg);
  if (have_rsvg) {
    // A real PNG: its signature.
    EXPECT_EQ(ReadFile(dir / "figs/accuracy.png").substr(0, 8), "\x89PNG\r\n\x1a\n");
    EXPECT_EQ(lines.size(), 2 * 5 + 1u);
  } else {
    EXPECT_EQ(lines.size(), 5 + 1u);
  }
}

TEST(PlotCommandTest, SweepFolderDefaultsToItsPlotsFolder) {
  ScratchDir dir;
  dir.Write("summary.csv",
            "group,outlier_rank,final_test_accuracy,success\na,2,0.5,0\na,3,1,1\nb,,,0\n");
  const PlotRun run = RunPlot({dir.path(), "--png", "never"});
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_THAT(Lines(run.out),
              ElementsAre(dir / "plots/sweep_rank.svg", dir / "plots/sweep_accuracy.svg",
                          dir / "plots/report.html"));
  const std::string html = ReadFile(dir / "plots/report.html");
  EXPECT_THAT(html, HasSubstr("No aggregates.csv"));
  EXPECT_THAT(html, HasSubstr("<tr><td>a</td><td>2</td><td>2</td><td>1</td></tr>"));
}

TEST(PlotCommandTest, BadSourcesAreUsageErrors) {
  ScratchDir dir;
  PlotRun run = RunPlot({dir / "missing.jsonl"});
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("missing.jsonl: no such file or directory"));

  run = RunPlot({dir.path()});
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("without summary.csv"));

  const std::string bad = dir.Write("bad.jsonl", EventsJsonl() + "not json\n");
  run = RunPlot({bad});
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr(bad + ":6: not a JobEvent"));
  EXPECT_THAT(run.out, IsEmpty());

  run = RunPlot({bad, "--png", "sometimes"});
  EXPECT_EQ(run.exit_code, kExitUsage);

  const std::string empty = dir.Write("empty.jsonl", "\n");
  run = RunPlot({empty});
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("empty.jsonl: holds no events"));
  EXPECT_THAT(run.out, IsEmpty());
}

TEST(PlotCommandTest, AnUnwritableOutputIsAnOutputError) {
  ScratchDir dir;
  const std::string events = dir.Write("e.jsonl", EventsJsonl());
  const std::string file = dir.Write("a-file", "x");
  const PlotRun run = RunPlot({events, "--out", file + "/sub", "--png", "never"});
  EXPECT_EQ(run.exit_code, kExitOutputError);
  EXPECT_THAT(run.err, HasSubstr("cannot create"));
}

}  // namespace
}  // namespace sgdspectra::client
