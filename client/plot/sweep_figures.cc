#include "client/plot/sweep_figures.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <utility>

#include "client/plot/svg_chart.h"

namespace sgdspectra::client::plot {
namespace {

using google::protobuf::util::Status;
using google::protobuf::util::StatusCode;

constexpr char kSuccessColor[] = "#2ca02c";
constexpr char kFailureColor[] = "#d62728";
constexpr double kRankBarWidth = 0.38;
constexpr int kAccuracyBins = 20;  // bins of 0.05 on [0, 1]

Status CellError(const std::string& file, size_t row, const std::string& column,
                 const std::string& cell, const std::string& expected) {
  // Line numbers count the header as line 1 (cells hold no line breaks in our files).
  return Status(StatusCode::kInvalidArgument, file + ":" + std::to_string(row + 2) + ": column " +
                                                  column + ": '" + cell + "' is not " + expected);
}

bool ParseDouble(const std::string& text, double* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *value = std::strtod(text.c_str(), &end);
  return errno == 0 && end == text.c_str() + text.size();
}

bool ParseInt(const std::string& text, int* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size() || parsed < -1000000 || parsed > 1000000) {
    return false;
  }
  *value = static_cast<int>(parsed);
  return true;
}

bool ParseFlag(const std::string& text, bool* value) {
  if (text == "1" || text == "true" || text == "yes") {
    *value = true;
  } else if (text.empty() || text == "0" || text == "false" || text == "no") {
    *value = false;
  } else {
    return false;
  }
  return true;
}

// "runs/snr" for "runs/snr/" and "runs/snr": the folder's own name for titles.
std::string FolderName(const std::string& directory) {
  std::filesystem::path path(directory);
  if (path.filename().empty()) path = path.parent_path();
  const std::string name = path.filename().string();
  return name.empty() || name == "." ? directory : name;
}

Chart RankPanel(const SweepData& sweep, const std::string& group) {
  std::map<int, int> successes;
  std::map<int, int> failures;
  int jobs = 0;
  int finished = 0;
  for (const SweepJob& job : sweep.jobs) {
    if (job.group != group) continue;
    ++jobs;
    if (!job.outlier_rank) continue;
    ++finished;
    ++(job.success ? successes : failures)[*job.outlier_rank];
  }
  Chart chart;
  chart.title_lines = {"sweep " + FolderName(sweep.directory) + ", group " + group,
                       "final outlier rank: " + std::to_string(finished) + " finished of " +
                           std::to_string(jobs) + " jobs"};
  chart.x_axis.label = "final outlier rank (classifier rank)";
  chart.x_axis.integer_ticks = true;
  chart.y_axis.label = "jobs";
  chart.y_axis.integer_ticks = true;
  chart.y_axis.min = 0.0;
  chart.plot_width = 320;
  chart.plot_height = 200;
  int lowest = 0;
  int highest = 1;
  if (finished > 0) {
    lowest = std::numeric_limits<int>::max();
    highest = std::numeric_limits<int>::min();
    for (const auto* counts : {&successes, &failures}) {
      if (counts->empty()) continue;
      lowest = std::min(lowest, counts->begin()->first);
      highest = std::max(highest, counts->rbegin()->first);
    }
  }
  chart.x_axis.min = lowest - 0.6;
  chart.x_axis.max = highest + 0.6;
  BarSeries success_bars{"success", kSuccessColor, {}};
  for (const auto& [rank, count] : successes) {
    success_bars.bars.push_back(
        {rank - kRankBarWidth, static_cast<double>(rank), 0.0, static_cast<double>(count)});
  }
  BarSeries failure_bars{"no success", kFailureColor, {}};
  for (const auto& [rank, count] : failures) {
    failure_bars.bars.push_back(
        {static_cast<double>(rank), rank + kRankBarWidth, 0.0, static_cast<double>(count)});
  }
  int tallest = 0;
  for (const auto* counts : {&successes, &failures}) {
    for (const auto& entry : *counts) tallest = std::max(tallest, entry.second);
  }
  chart.y_axis.max = tallest + 1.0;  // head room above the tallest bar
  chart.bars = {std::move(success_bars), std::move(failure_bars)};
  return chart;
}

Chart AccuracyPanel(const SweepData& sweep, const std::string& group) {
  std::vector<int> successes(kAccuracyBins, 0);
  std::vector<int> failures(kAccuracyBins, 0);
  int jobs = 0;
  int finished = 0;
  for (const SweepJob& job : sweep.jobs) {
    if (job.group != group) continue;
    ++jobs;
    if (!job.final_test_accuracy || !std::isfinite(*job.final_test_accuracy)) continue;
    ++finished;
    // Accuracy 1 belongs to the last bin, which is closed on the right.
    const int bin =
        std::clamp(static_cast<int>(std::floor(*job.final_test_accuracy * kAccuracyBins)), 0,
                   kAccuracyBins - 1);
    ++(job.success ? successes : failures)[bin];
  }
  Chart chart;
  chart.title_lines = {"sweep " + FolderName(sweep.directory) + ", group " + group,
                       "final test accuracy: " + std::to_string(finished) + " finished of " +
                           std::to_string(jobs) + " jobs"};
  chart.x_axis.label = "final test accuracy (bins of 0.05)";
  chart.x_axis.min = 0.0;
  chart.x_axis.max = 1.0;
  chart.y_axis.label = "jobs";
  chart.y_axis.integer_ticks = true;
  chart.y_axis.min = 0.0;
  chart.plot_width = 320;
  chart.plot_height = 200;
  BarSeries success_bars{"success", kSuccessColor, {}};
  BarSeries failure_bars{"no success", kFailureColor, {}};
  for (int bin = 0; bin < kAccuracyBins; ++bin) {
    const double x0 = static_cast<double>(bin) / kAccuracyBins;
    const double x1 = static_cast<double>(bin + 1) / kAccuracyBins;
    if (successes[bin] > 0) {
      success_bars.bars.push_back({x0, x1, 0.0, static_cast<double>(successes[bin])});
    }
    if (failures[bin] > 0) {
      failure_bars.bars.push_back(
          {x0, x1, static_cast<double>(successes[bin]), static_cast<double>(failures[bin])});
    }
  }
  int tallest = 0;
  for (int bin = 0; bin < kAccuracyBins; ++bin) {
    tallest = std::max(tallest, successes[bin] + failures[bin]);
  }
  chart.y_axis.max = tallest + 1.0;  // head room above the tallest bar
  chart.bars = {std::move(success_bars), std::move(failure_bars)};
  return chart;
}

}  // namespace

Status ReadSweep(const std::string& directory, SweepData* sweep) {
  *sweep = SweepData();
  sweep->directory = directory;
  const std::string summary_path = (std::filesystem::path(directory) / "summary.csv").string();
  CsvTable summary;
  Status status = ReadCsvFile(summary_path, &summary);
  if (!status.ok()) return status;
  const int group_column = summary.ColumnIndex("group");
  const int job_id_column = summary.ColumnIndex("job_id");
  const int state_column = summary.ColumnIndex("state");
  const int rank_column = summary.ColumnIndex("outlier_rank");
  const int accuracy_column = summary.ColumnIndex("final_test_accuracy");
  const int success_column = summary.ColumnIndex("success");
  for (const auto& [column, name] :
       {std::pair{rank_column, "outlier_rank"}, std::pair{accuracy_column, "final_test_accuracy"},
        std::pair{success_column, "success"}}) {
    if (column < 0) {
      return Status(StatusCode::kInvalidArgument,
                    summary_path + ":1: no column '" + name + "' in the header");
    }
  }
  for (size_t r = 0; r < summary.rows.size(); ++r) {
    const std::vector<std::string>& row = summary.rows[r];
    SweepJob job;
    job.group = group_column >= 0 && !row[group_column].empty() ? row[group_column] : "all";
    if (job_id_column >= 0) job.job_id = row[job_id_column];
    if (state_column >= 0) job.state = row[state_column];
    if (!row[rank_column].empty()) {
      int rank = 0;
      if (!ParseInt(row[rank_column], &rank)) {
        return CellError(summary_path, r, "outlier_rank", row[rank_column], "an integer");
      }
      job.outlier_rank = rank;
    }
    if (!row[accuracy_column].empty()) {
      double accuracy = 0;
      if (!ParseDouble(row[accuracy_column], &accuracy)) {
        return CellError(summary_path, r, "final_test_accuracy", row[accuracy_column], "a number");
      }
      job.final_test_accuracy = accuracy;
    }
    if (!ParseFlag(row[success_column], &job.success)) {
      return CellError(summary_path, r, "success", row[success_column], "1 or 0");
    }
    sweep->jobs.push_back(std::move(job));
  }

  const std::filesystem::path aggregates_path = std::filesystem::path(directory) / "aggregates.csv";
  std::error_code error;
  if (std::filesystem::exists(aggregates_path, error)) {
    CsvTable aggregates;
    status = ReadCsvFile(aggregates_path.string(), &aggregates);
    if (!status.ok()) return status;
    sweep->aggregates = std::move(aggregates);
  }
  return Status();
}

std::vector<std::string> SweepGroups(const SweepData& sweep) {
  std::vector<std::string> groups;
  for (const SweepJob& job : sweep.jobs) {
    if (std::find(groups.begin(), groups.end(), job.group) == groups.end()) {
      groups.push_back(job.group);
    }
  }
  return groups;
}

std::vector<GroupCounts> CountGroups(const SweepData& sweep) {
  std::vector<GroupCounts> counts;
  for (const std::string& group : SweepGroups(sweep)) {
    GroupCounts entry;
    entry.group = group;
    for (const SweepJob& job : sweep.jobs) {
      if (job.group != group) continue;
      ++entry.jobs;
      if (job.outlier_rank) ++entry.finished;
      if (job.success) ++entry.successes;
    }
    counts.push_back(entry);
  }
  return counts;
}

std::vector<Figure> MakeSweepFigures(const SweepData& sweep) {
  const std::vector<std::string> groups = SweepGroups(sweep);
  if (groups.empty()) return {};
  std::vector<Chart> rank_panels;
  std::vector<Chart> accuracy_panels;
  for (const std::string& group : groups) {
    rank_panels.push_back(RankPanel(sweep, group));
    accuracy_panels.push_back(AccuracyPanel(sweep, group));
  }
  const int columns = groups.size() > 1 ? 2 : 1;
  Figure rank;
  rank.name = "sweep_rank";
  rank.section = "Final outlier rank";
  rank.caption =
      "Per group: jobs at each final outlier rank (the last layer's classifier rank), "
      "successes (green) beside the others (red).";
  rank.svg = RenderSvg(rank_panels, columns);
  Figure accuracy;
  accuracy.name = "sweep_accuracy";
  accuracy.section = "Final test accuracy";
  accuracy.caption =
      "Per group: histogram of the final test accuracy; successes (green) stacked "
      "under the others (red).";
  accuracy.svg = RenderSvg(accuracy_panels, columns);
  return {rank, accuracy};
}

}  // namespace sgdspectra::client::plot
