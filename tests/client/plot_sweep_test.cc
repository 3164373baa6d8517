// Sweep folders (client/plot/sweep_figures.h) and the CSV reader under them
// (client/plot/csv_table.h): every bar of the rank and accuracy figures is counted back against
// the summary rows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "client/plot/csv_table.h"
#include "client/plot/sweep_figures.h"
#include "scratch_dir.h"
#include "svg_elements.h"

namespace sgdspectra::client::plot {
namespace {

using ::sgdspectra::testing::AffineMapError;
using ::sgdspectra::testing::ParseSvg;
using ::sgdspectra::testing::ScratchDir;
using ::sgdspectra::testing::SvgDocument;
using ::sgdspectra::testing::SvgElement;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kHeader[] =
    "index,group,seed,job_id,server,attempts,state,final_test_accuracy,final_test_loss,"
    "outlier_rank,weight_rank,expected_rank,rank_deficient,num_covered,covered_clusters,success,"
    "events_file,xor_task.snr\n";

struct Row {
  std::string group;
  std::string state;
  std::string accuracy;  // "" = not finished
  std::string rank;
  int success;
};

// Two groups; one job per group did not finish; ranks repeat with and without success; two
// accuracies share a bin (0.75 and 0.76), one is exactly 1.
const std::vector<Row> kRows = {
    {"xor_task.snr=1000", "SUCCEEDED", "0.75", "2", 0},
    {"xor_task.snr=1000", "SUCCEEDED", "1", "4", 1},
    {"xor_task.snr=1000", "SUCCEEDED", "0.5", "2", 0},
    {"xor_task.snr=1000", "FAILED", "", "", 0},
    {"xor_task.snr=1000", "SUCCEEDED", "0.76", "4", 0},
    {"xor_task.snr=1000", "SUCCEEDED", "0.99", "4", 1},
    {"xor_task.snr=100", "SUCCEEDED", "0.98", "4", 1},
    {"xor_task.snr=100", "SUCCEEDED", "0.73", "3", 0},
    {"xor_task.snr=100", "CANCELLED", "", "", 0},
    {"xor_task.snr=100", "SUCCEEDED", "0.74", "3", 1},
};

std::string SummaryCsv() {
  std::string csv = kHeader;
  for (size_t i = 0; i < kRows.size(); ++i) {
    const Row& row = kRows[i];
    const bool finished = !row.rank.empty();
    csv += std::to_string(i) + "," + row.group + "," + std::to_string(i + 1) + ",j-" +
           std::to_string(i) + ",127.0.0.1:1,1," + row.state + "," + row.accuracy + "," +
           (finished ? "0.3" : "") + "," + row.rank + "," + (finished ? "4" : "") + "," +
           (finished ? "4" : "") + "," + (finished ? (row.rank == "4" ? "0" : "1") : "") + "," +
           (finished ? row.rank : "") + "," +
           // covered_clusters: space-separated, quoted on some rows (RFC 4180 allows both)
           (finished ? (i % 2 == 0 ? "\"1 1 0 1\"" : "1 1 0 1") : "") + "," +
           std::to_string(row.success) + ",jobs/" + std::to_string(i) + ".events.jsonl," +
           (row.group == "xor_task.snr=100" ? "100" : "1000") + "\n";
  }
  return csv;
}

constexpr char kAggregates[] =
    "group,jobs,finished,successes,success_fraction,ci_low,ci_high,mean_accuracy,"
    "rank_deficient_fraction\n"
    "xor_task.snr=1000,6,5,2,0.4,0.1,0.8,0.8,0.4\n"
    "xor_task.snr=100,4,3,2,0.6667,0.2,0.9,0.8167,0.3333\n";

SweepData ReadFixture(const ScratchDir& dir, bool with_aggregates = true) {
  dir.Write("summary.csv", SummaryCsv());
  if (with_aggregates) dir.Write("aggregates.csv", kAggregates);
  SweepData sweep;
  const auto status = ReadSweep(dir.path(), &sweep);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return sweep;
}

TEST(CsvTableTest, QuotesCommasEscapedQuotesLineBreaksAndCrlf) {
  CsvTable table;
  const auto status = ParseCsv(
      "a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n,\"two\nlines\",3\r\n\r\n", "t.csv", &table);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_THAT(table.header, ElementsAre("a", "b", "c"));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_THAT(table.rows[0], ElementsAre("1", "x, y", "say \"hi\""));
  EXPECT_THAT(table.rows[1], ElementsAre("", "two\nlines", "3"));
  EXPECT_EQ(table.ColumnIndex("c"), 2);
  EXPECT_EQ(table.ColumnIndex("d"), -1);
}

TEST(CsvTableTest, ErrorsNameTheFileAndLine) {
  CsvTable table;
  auto status = ParseCsv("a,b\n1,2\n3\n", "t.csv", &table);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("t.csv:3: 1 cells, the header has 2"));
  status = ParseCsv("a,b\n1,\"open\n", "t.csv", &table);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("t.csv:2: a quoted cell is not closed"));
  status = ParseCsv("", "t.csv", &table);
  EXPECT_FALSE(status.ok());
}

TEST(SweepFiguresTest, ReadsRowsByColumnName) {
  ScratchDir dir;
  const SweepData sweep = ReadFixture(dir);
  ASSERT_EQ(sweep.jobs.size(), kRows.size());
  EXPECT_EQ(sweep.jobs[0].group, "xor_task.snr=1000");
  EXPECT_EQ(sweep.jobs[0].job_id, "j-0");
  EXPECT_EQ(sweep.jobs[1].outlier_rank, 4);
  EXPECT_EQ(sweep.jobs[1].final_test_accuracy, 1.0);
  EXPECT_TRUE(sweep.jobs[1].success);
  EXPECT_FALSE(sweep.jobs[3].outlier_rank.has_value());
  EXPECT_FALSE(sweep.jobs[3].final_test_accuracy.has_value());
  EXPECT_EQ(sweep.jobs[3].state, "FAILED");
  EXPECT_THAT(SweepGroups(sweep), ElementsAre("xor_task.snr=1000", "xor_task.snr=100"));
  ASSERT_TRUE(sweep.aggregates.has_value());
  EXPECT_EQ(sweep.aggregates->rows.size(), 2u);
}

TEST(SweepFiguresTest, RankBarsCountTheSummaryRows) {
  ScratchDir dir;
  const SweepData sweep = ReadFixture(dir);
  const std::vector<Figure> figures = MakeSweepFigures(sweep);
  ASSERT_EQ(figures.size(), 2u);
  ASSERT_EQ(figures[0].name, "sweep_rank");
  const SvgDocument svg = ParseSvg(figures[0].svg);
  ASSERT_EQ(svg.error, "");
  const std::vector<std::string> groups = SweepGroups(sweep);
  ASSERT_EQ(svg.charts.size(), groups.size());
  for (size_t chart = 0; chart < groups.size(); ++chart) {
    SCOPED_TRACE(groups[chart]);
    EXPECT_THAT(svg.charts[chart].Attribute("data-title"), HasSubstr("group " + groups[chart]));
    // Expected counts straight from the fixture rows.
    std::map<std::pair<int, bool>, int> expected;
    for (const Row& row : kRows) {
      if (row.group != groups[chart] || row.rank.empty()) continue;
      ++expected[{std::stoi(row.rank), row.success == 1}];
    }
    std::map<std::pair<int, bool>, int> drawn;
    const std::vector<SvgElement> bars = svg.OfClass("bar", static_cast<int>(chart));
    for (const SvgElement& bar : bars) {
      const bool success = bar.Attribute("data-series") == "success";
      // The success bar lies left of the rank, the other right of it.
      const double rank = success ? bar.Number("data-x1") : bar.Number("data-x0");
      EXPECT_EQ(rank, std::round(rank));
      drawn[{static_cast<int>(rank), success}] += static_cast<int>(bar.Number("data-y"));
    }
    EXPECT_EQ(drawn, expected);
    EXPECT_EQ(bars.size(), expected.size());  // one bar per (rank, success) present
    std::vector<SvgElement> tops;
    for (SvgElement bar : bars) {
      bar.attributes["top"] = bar.Attribute("y");
      tops.push_back(bar);
    }
    EXPECT_LT(AffineMapError(tops, "data-y", "top", false), 0.01);
  }
}

TEST(SweepFiguresTest, AccuracyHistogramStacksFailuresOnSuccessesPerBin) {
  ScratchDir dir;
  const std::vector<Figure> figures = MakeSweepFigures(ReadFixture(dir));
  ASSERT_EQ(figures[1].name, "sweep_accuracy");
  const SvgDocument svg = ParseSvg(figures[1].svg);
  ASSERT_EQ(svg.error, "");
  const std::vector<std::string> groups = {"xor_task.snr=1000", "xor_task.snr=100"};
  for (size_t chart = 0; chart < groups.size(); ++chart) {
    SCOPED_TRACE(groups[chart]);
    std::map<std::pair<int, bool>, int> expected;  // (bin, success) -> jobs
    int finished = 0;
    for (const Row& row : kRows) {
      if (row.group != groups[chart] || row.accuracy.empty()) continue;
      const int bin = std::min(19, static_cast<int>(std::floor(std::stod(row.accuracy) * 20)));
      ++expected[{bin, row.success == 1}];
      ++finished;
    }
    std::map<std::pair<int, bool>, int> drawn;
    double total = 0;
    for (const SvgElement& bar : svg.OfClass("bar", static_cast<int>(chart))) {
      const bool success = bar.Attribute("data-series") == "success";
      const int bin = static_cast<int>(std::lround(bar.Number("data-x0") * 20));
      EXPECT_NEAR(bar.Number("data-x1") - bar.Number("data-x0"), 0.05, 1e-12);
      drawn[{bin, success}] += static_cast<int>(bar.Number("data-y"));
      total += bar.Number("data-y");
      // A failure bar starts on top of the successes of its bin.
      const auto below = expected.find({bin, true});
      EXPECT_EQ(bar.Number("data-y0"),
                success || below == expected.end() ? 0.0 : static_cast<double>(below->second));
    }
    EXPECT_EQ(drawn, expected);
    EXPECT_EQ(total, finished);
  }
}

TEST(SweepFiguresTest, CountGroupsAndAMissingAggregatesFile) {
  ScratchDir dir;
  const SweepData sweep = ReadFixture(dir, /*with_aggregates=*/false);
  EXPECT_FALSE(sweep.aggregates.has_value());
  const std::vector<GroupCounts> counts = CountGroups(sweep);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(std::make_tuple(counts[0].jobs, counts[0].finished, counts[0].successes),
            std::make_tuple(6, 5, 2));
  EXPECT_EQ(std::make_tuple(counts[1].jobs, counts[1].finished, counts[1].successes),
            std::make_tuple(4, 3, 2));
}

TEST(SweepFiguresTest, BadCellsAndMissingColumnsNameFileLineAndColumn) {
  ScratchDir dir;
  std::string csv = SummaryCsv();
  csv.replace(csv.find(",0.5,"), 5, ",half,");
  dir.Write("summary.csv", csv);
  SweepData sweep;
  auto status = ReadSweep(dir.path(), &sweep);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("summary.csv:4: column final_test_accuracy: 'half' is not a number"));

  dir.Write("summary.csv", "group,success\nall,1\n");
  status = ReadSweep(dir.path(), &sweep);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("no column 'outlier_rank'"));

  ScratchDir empty;
  status = ReadSweep(empty.path(), &sweep);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("summary.csv: cannot open"));
}

}  // namespace
}  // namespace sgdspectra::client::plot
