// SweepFigures: the figures of a sweep folder written by `sgdspectra sweep`.
//
// Reads DIR/summary.csv (one row per job; columns found by name: group, state, outlier_rank,
// final_test_accuracy, success; others ignored) and, when present, DIR/aggregates.csv (shown as
// a table, cell for cell). Numeric cells are empty for a job that did not finish; such a job is
// counted as "not finished" and is in no bar.
//
//   sweep_rank       per group, one panel: the count of jobs at each final outlier rank, one bar
//                    for the successes and one beside it for the failures.
//   sweep_accuracy   per group, one panel: a histogram of the final test accuracy on [0, 1]
//                    in bins of 0.05, successes stacked under failures.
//
// Thread-safety: plain functions.
#ifndef SGDSPECTRA_CLIENT_PLOT_SWEEP_FIGURES_H_
#define SGDSPECTRA_CLIENT_PLOT_SWEEP_FIGURES_H_

#include <google/protobuf/util/json_util.h>

#include <optional>
#include <string>
#include <vector>

#include "client/plot/csv_table.h"
#include "client/plot/figure.h"

namespace sgdspectra::client::plot {

struct SweepJob {
  std::string group;  // "all" when the column is missing or empty
  std::string job_id;
  std::string state;
  std::optional<int> outlier_rank;            // unset: the job did not finish
  std::optional<double> final_test_accuracy;  // unset: the job did not finish
  bool success = false;
};

struct SweepData {
  std::string directory;
  std::vector<SweepJob> jobs;  // summary.csv's rows in order
  std::optional<CsvTable> aggregates;
};

// Reads DIR/summary.csv (required: columns outlier_rank, final_test_accuracy and success) and
// DIR/aggregates.csv (optional). A cell that is neither empty nor a number is an error naming
// the file, line and column.
google::protobuf::util::Status ReadSweep(const std::string& directory, SweepData* sweep);

// The groups in order of first appearance.
std::vector<std::string> SweepGroups(const SweepData& sweep);

std::vector<Figure> MakeSweepFigures(const SweepData& sweep);

// Jobs, finished jobs, successes per group, for the report's own table.
struct GroupCounts {
  std::string group;
  int jobs = 0;
  int finished = 0;
  int successes = 0;
};
std::vector<GroupCounts> CountGroups(const SweepData& sweep);

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_SWEEP_FIGURES_H_
