// Table, JSON-lines and CSV rendering of a hand-built event stream (client/render.h).
#include "client/render.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace sgdspectra::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int kNumSnapshots = 2;
constexpr int kClasses = 2;

v1::Spectrum MakeSpectrum(v1::MatrixKind matrix, v1::BlockKind block, int block_index,
                          int expected) {
  v1::Spectrum spectrum;
  spectrum.set_matrix(matrix);
  spectrum.set_block(block);
  spectrum.set_block_index(block_index);
  for (double value : {9.5, 7.25, 1.0 / 3.0, 0.125, 0.1, 0.05, 0.01, 0.001}) {
    spectrum.add_top_eigenvalues(value);
  }
  spectrum.set_bulk_edge(0.2);
  spectrum.set_edge_method(v1::NULL_MODEL);
  spectrum.set_outlier_count(expected);
  spectrum.set_expected_outliers(expected);
  spectrum.set_alignment_at_outliers(0.95);
  spectrum.set_alignment_at_expected(0.9);
  spectrum.set_overlap_with_means(0.99);
  spectrum.mutable_solver()->set_method("lanczos");
  spectrum.mutable_solver()->set_requested(8);
  spectrum.mutable_solver()->set_converged(8);
  spectrum.mutable_solver()->set_products(120);
  return spectrum;
}

// accepted, progress, then per snapshot: snapshot (+ progress), finished. Spectra per snapshot:
// H for each class block, and the full H: kClasses + 1.
std::vector<v1::JobEvent> MakeEventStream(bool succeeded) {
  std::vector<v1::JobEvent> events;
  auto next = [&events]() -> v1::JobEvent& {
    v1::JobEvent& event = events.emplace_back();
    event.set_job_id("job-1");
    event.set_seq(static_cast<std::int64_t>(events.size()));
    event.set_unix_ms(1700000000000 + event.seq());
    return event;
  };

  v1::Accepted* accepted = next().mutable_accepted();
  accepted->mutable_resolved_spec()->mutable_kgmm()->set_dim(40);
  accepted->mutable_resolved_spec()->mutable_kgmm()->set_num_classes(kClasses);
  accepted->mutable_resolved_spec()->mutable_kgmm()->set_snr(50);
  accepted->set_steps_total(80);
  accepted->add_snapshot_steps(0);
  accepted->add_snapshot_steps(80);
  accepted->set_test_sample_size(80);
  accepted->set_step_size(0.025);

  for (int s = 0; s < kNumSnapshots; ++s) {
    v1::Progress* progress = next().mutable_progress();
    progress->set_steps_done(40 * s);
    progress->set_steps_total(80);
    progress->set_steps_per_second(1000);

    v1::Snapshot* snapshot = next().mutable_snapshot();
    snapshot->set_index(s);
    snapshot->set_step(80 * s);
    snapshot->set_time(2.0 * s);
    snapshot->set_test_accuracy(0.5 + 0.4 * s);
    snapshot->set_test_loss(0.7);
    for (int c = 0; c < kClasses; ++c) {
      *snapshot->add_spectra() = MakeSpectrum(v1::HESSIAN, v1::CLASS_BLOCK, c, kClasses);
    }
    *snapshot->add_spectra() = MakeSpectrum(v1::HESSIAN, v1::FULL, -1, kClasses * (kClasses - 1));
  }

  v1::Finished* finished = next().mutable_finished();
  if (succeeded) {
    finished->set_state(v1::SUCCEEDED);
    v1::ClassifierRank* rank = finished->mutable_rank();
    rank->add_h_block_outliers(2);
    rank->add_h_block_outliers(2);
    rank->set_outlier_rank(2);
    rank->set_weight_rank(2);
    rank->set_expected_rank(2);
    rank->set_rank_deficient(false);
  } else {
    finished->set_state(v1::FAILED);
    finished->set_error_message("NaN in the SGD iterate at step 12");
  }
  finished->set_final_test_accuracy(0.9);
  finished->set_steps_done(80);
  finished->set_time_done(2.0);
  return events;
}

std::string RenderAll(OutputFormat format, const std::vector<v1::JobEvent>& events,
                      bool interactive) {
  std::ostringstream out;
  auto renderer = MakeEventRenderer(format, &out, interactive);
  for (const v1::JobEvent& event : events) renderer->Render(event);
  renderer->Close();
  return out.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Splits one csv line; the renderer quotes nothing in these events, so commas are separators.
std::vector<std::string> CsvFields(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.push_back("");
  return fields;
}

TEST(RenderTest, CsvHasHeaderAndOneRowPerSnapshotAndSpectrum) {
  const std::vector<std::string> lines =
      Lines(RenderAll(OutputFormat::kCsv, MakeEventStream(true), false));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], EventCsvHeader());
  const std::vector<std::string> header = CsvFields(lines[0]);
  EXPECT_THAT(header, ::testing::IsSupersetOf({"job_id", "snapshot", "step", "time", "matrix",
                                               "block", "block_index", "outlier_count",
                                               "expected_outliers", "bulk_edge", "top_eigenvalues",
                                               "alignment_at_outliers", "alignment_at_expected",
                                               "overlap_with_means", "test_accuracy"}));
  ASSERT_EQ(lines.size(), 1u + kNumSnapshots * (kClasses + 1));
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(CsvFields(lines[i]).size(), header.size()) << lines[i];
  }

  // Second snapshot, first class block, column by column.
  auto column = [&header](const std::string& name) {
    return std::find(header.begin(), header.end(), name) - header.begin();
  };
  const std::vector<std::string> row = CsvFields(lines[1 + (kClasses + 1)]);
  EXPECT_EQ(row[column("job_id")], "job-1");
  EXPECT_EQ(row[column("snapshot")], "1");
  EXPECT_EQ(row[column("step")], "80");
  EXPECT_EQ(row[column("matrix")], "HESSIAN");
  EXPECT_EQ(row[column("block")], "CLASS_BLOCK");
  EXPECT_EQ(row[column("block_index")], "0");
  EXPECT_EQ(row[column("outlier_count")], "2");
  // Exact (round-trip) numbers, joined with ';'.
  EXPECT_EQ(row[column("top_eigenvalues")],
            "9.5;7.25;0.3333333333333333;0.125;0.1;0.05;0.01;0.001");
  EXPECT_EQ(row[column("test_accuracy")], "0.9");
  const std::vector<std::string> full_row = CsvFields(lines[kClasses + 1]);
  EXPECT_EQ(full_row[column("block")], "FULL");
  EXPECT_EQ(full_row[column("block_index")], "-1");
}

TEST(RenderTest, CsvOfAnEmptyStreamIsTheHeader) {
  EXPECT_EQ(RenderAll(OutputFormat::kCsv, {}, false), EventCsvHeader() + "\n");
}

TEST(RenderTest, JsonlLinesParseBackToTheSameEvents) {
  const std::vector<v1::JobEvent> events = MakeEventStream(true);
  const std::vector<std::string> lines = Lines(RenderAll(OutputFormat::kJsonl, events, false));
  ASSERT_EQ(lines.size(), events.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    v1::JobEvent parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[i], &parsed).ok()) << lines[i];
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, events[i])) << lines[i];
  }
  // Stable names of the proto3 JSON mapping, with defaults printed (the first snapshot, seq 3,
  // has class block 0: "blockIndex":0 is there, not left out as a default).
  EXPECT_THAT(lines[0], StartsWith("{\"jobId\":\"job-1\",\"seq\":\"1\""));
  EXPECT_THAT(lines[2], HasSubstr("\"blockIndex\":0"));
  EXPECT_THAT(lines.back(), HasSubstr("\"state\":\"SUCCEEDED\""));
}

TEST(RenderTest, TableShowsSnapshotsAndTheRankLine) {
  const std::string text = RenderAll(OutputFormat::kTable, MakeEventStream(true), false);
  EXPECT_THAT(text, HasSubstr("job job-1 accepted: k-GMM d=40 k=2 lambda=50"));
  EXPECT_THAT(text, HasSubstr("snapshot 0  step 0  t 0.000  test acc 0.5000"));
  EXPECT_THAT(text, HasSubstr("snapshot 1  step 80  t 2.000  test acc 0.9000"));
  EXPECT_THAT(text, HasSubstr("H c1"));
  EXPECT_THAT(text, HasSubstr("H full"));
  // Only the first few eigenvalues of a block.
  EXPECT_THAT(text, HasSubstr("9.5 7.25 0.3333 0.125 0.1 0.05 ..."));
  EXPECT_THAT(text, HasSubstr("job job-1 finished: SUCCEEDED"));
  const std::vector<std::string> lines = Lines(text);
  EXPECT_EQ(lines.back(), "classifier rank 2 (expected 2, rank-deficient: no)");
  // Not a terminal: no progress bar, no carriage returns or escape codes.
  EXPECT_THAT(text, Not(HasSubstr("\r")));
  EXPECT_THAT(text, Not(HasSubstr("steps/s")));
}

TEST(RenderTest, TableOfAFailedJobSaysWhyAndHasNoRank) {
  const std::string text = RenderAll(OutputFormat::kTable, MakeEventStream(false), false);
  EXPECT_THAT(text, HasSubstr("finished: FAILED: NaN in the SGD iterate at step 12"));
  EXPECT_EQ(Lines(text).back(), "classifier rank: n/a (the run did not reach its end)");
}

TEST(RenderTest, InteractiveTableReplacesTheProgressBar) {
  const std::string text = RenderAll(OutputFormat::kTable, MakeEventStream(true), true);
  EXPECT_THAT(text, HasSubstr("steps/s"));
  // Every bar is wiped ("\r" + erase line) before the next row; no bar is left at the end.
  const std::string wipe = "\r\x1b[K";
  EXPECT_THAT(text, HasSubstr(wipe + "[###############               ]  50.0%  40/80 steps"));
  EXPECT_THAT(text, HasSubstr("steps/s" + wipe + "snapshot 1"));
  EXPECT_THAT(Lines(text).back(), StartsWith("classifier rank 2"));
}

TEST(RenderTest, JobsInEachFormat) {
  std::vector<v1::Job> jobs(2);
  jobs[0].set_job_id("job-a");
  jobs[0].set_state(v1::RUNNING);
  jobs[0].set_steps_done(10);
  jobs[0].set_steps_total(80);
  jobs[0].mutable_resolved_spec()->set_name("first, with a comma");
  jobs[1].set_job_id("job-b-longer-id");
  jobs[1].set_state(v1::SUCCEEDED);
  jobs[1].set_created_unix_ms(1700000000000);

  std::ostringstream table;
  RenderJobs(OutputFormat::kTable, jobs, true, &table);
  const std::vector<std::string> table_lines = Lines(table.str());
  ASSERT_EQ(table_lines.size(), 3u);
  EXPECT_THAT(table_lines[0], StartsWith("JOB_ID           STATE"));
  EXPECT_THAT(table_lines[1], StartsWith("job-a            RUNNING    10/80"));
  EXPECT_THAT(table_lines[2], HasSubstr("2023-11-14 22:13:20Z"));

  std::ostringstream csv;
  RenderJobs(OutputFormat::kCsv, jobs, true, &csv);
  const std::vector<std::string> csv_lines = Lines(csv.str());
  ASSERT_EQ(csv_lines.size(), 3u);
  EXPECT_THAT(csv_lines[0], StartsWith("job_id,state,name,"));
  EXPECT_THAT(csv_lines[1], StartsWith("job-a,RUNNING,\"first, with a comma\","));

  std::ostringstream jsonl;
  RenderJobs(OutputFormat::kJsonl, jobs, true, &jsonl);
  const std::vector<std::string> json_lines = Lines(jsonl.str());
  ASSERT_EQ(json_lines.size(), 2u);
  v1::Job parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json_lines[1], &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, jobs[1]));
}

TEST(RenderTest, OutputFormatNames) {
  OutputFormat format;
  ASSERT_TRUE(ParseOutputFormat("CSV", &format));
  EXPECT_EQ(format, OutputFormat::kCsv);
  ASSERT_TRUE(ParseOutputFormat("jsonl", &format));
  EXPECT_EQ(format, OutputFormat::kJsonl);
  EXPECT_FALSE(ParseOutputFormat("json", &format));
}

}  // namespace
}  // namespace sgdspectra::client
