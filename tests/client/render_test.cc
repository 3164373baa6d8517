// Table, JSON-lines and CSV rendering of a hand-built event stream (client/render.h).
#include "client/render.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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
  EXPECT_EQ(row[column("block")], "class");
  EXPECT_EQ(row[column("block_index")], "0");
  EXPECT_EQ(row[column("outlier_count")], "2");
  // Exact (round-trip) numbers, joined with ';'.
  EXPECT_EQ(row[column("top_eigenvalues")],
            "9.5;7.25;0.3333333333333333;0.125;0.1;0.05;0.01;0.001");
  EXPECT_EQ(row[column("test_accuracy")], "0.9");
  EXPECT_EQ(row[column("predicted_test_accuracy")], "");  // no analysis.theory
  const std::vector<std::string> full_row = CsvFields(lines[kClasses + 1]);
  EXPECT_EQ(full_row[column("block")], "full");
  EXPECT_EQ(full_row[column("block_index")], "-1");
}

// An XOR job with K = kNeurons: per snapshot, H and G for each neuron block, the first layer,
// the second layer and the full matrix. The run ends at a sub-optimal classifier covering +mu
// and -nu.
constexpr int kNeurons = 3;
constexpr int kXorSpectraPerSnapshot = 2 * (kNeurons + 3);

std::vector<v1::JobEvent> MakeXorEventStream() {
  std::vector<v1::JobEvent> events;
  auto next = [&events]() -> v1::JobEvent& {
    v1::JobEvent& event = events.emplace_back();
    event.set_job_id("xor-1");
    event.set_seq(static_cast<std::int64_t>(events.size()));
    return event;
  };
  v1::Accepted* accepted = next().mutable_accepted();
  v1::XorTask* task = accepted->mutable_resolved_spec()->mutable_xor_task();
  task->set_dim(40);
  task->set_hidden(kNeurons);
  task->set_snr(1000);
  task->set_ridge(0.1);
  accepted->set_steps_total(80);

  v1::Snapshot* snapshot = next().mutable_snapshot();
  snapshot->set_index(0);
  snapshot->set_num_classes(kNeurons);
  snapshot->set_num_means(2);
  for (int i = 0; i < kNeurons; ++i) {
    snapshot->add_second_layer_weights(i == 1 ? -1.5 : 0.25 * (i + 1));
    snapshot->add_weight_mean_products(0.5 + i);  // W_i . mu
    snapshot->add_weight_mean_products(-0.125);   // W_i . nu
  }
  for (v1::MatrixKind matrix : {v1::HESSIAN, v1::G_MATRIX}) {
    for (int i = 0; i < kNeurons; ++i) {
      *snapshot->add_spectra() = MakeSpectrum(matrix, v1::NEURON, i, 2);
    }
    *snapshot->add_spectra() = MakeSpectrum(matrix, v1::FIRST_LAYER, -1, 4);
    v1::Spectrum second_layer = MakeSpectrum(matrix, v1::SECOND_LAYER, -1, 4);
    second_layer.set_outlier_count(2);
    second_layer.set_overlap_with_means(0);
    *snapshot->add_spectra() = second_layer;
    *snapshot->add_spectra() = MakeSpectrum(matrix, v1::FULL, -1, 4);
  }

  v1::Finished* finished = next().mutable_finished();
  finished->set_state(v1::SUCCEEDED);
  v1::ClassifierRank* rank = finished->mutable_rank();
  rank->add_h_block_outliers(2);
  rank->add_g_block_outliers(2);
  rank->set_outlier_rank(2);
  rank->set_weight_rank(3);
  rank->set_expected_rank(4);
  rank->set_rank_deficient(true);
  for (int covered : {1, 0, 0, 1}) rank->add_covered_clusters(covered);
  return events;
}

std::string RenderXor(OutputFormat format, BlockFilter filter) {
  std::ostringstream out;
  auto renderer = MakeEventRenderer(format, &out, false, filter);
  for (const v1::JobEvent& event : MakeXorEventStream()) renderer->Render(event);
  renderer->Close();
  return out.str();
}

// The table's spectrum rows: lines starting with "  H " or "  G ", before the final lines.
std::vector<std::string> SpectrumRows(const std::string& table) {
  std::vector<std::string> rows;
  for (const std::string& line : Lines(table)) {
    if (line.find(" finished: ") != std::string::npos) break;
    if (line.rfind("  H ", 0) == 0 || line.rfind("  G ", 0) == 0) rows.push_back(line);
  }
  return rows;
}

TEST(RenderTest, XorTableLabelsEveryLayer) {
  const std::string text = RenderXor(OutputFormat::kTable, BlockFilter::kAll);
  EXPECT_THAT(text, HasSubstr("job xor-1 accepted: XOR d=40 K=3 lambda=1000 alpha=0.1"));
  const std::vector<std::string> rows = SpectrumRows(text);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kXorSpectraPerSnapshot)) << text;
  EXPECT_THAT(rows[0], StartsWith("  H n0 "));
  EXPECT_THAT(rows[2], StartsWith("  H n2 "));
  EXPECT_THAT(rows[3], StartsWith("  H L1 "));
  EXPECT_THAT(rows[4], StartsWith("  H L2 "));
  EXPECT_THAT(rows[5], StartsWith("  H full "));
  EXPECT_THAT(rows[6], StartsWith("  G n0 "));
  EXPECT_THAT(rows[10], StartsWith("  G L2 "));
  // Outliers / expected; the second layer's overlap with the means is not defined: "-".
  EXPECT_THAT(rows[4], HasSubstr("  2/4  "));
  EXPECT_THAT(rows[4], HasSubstr("      -  9.5 7.25"));
  EXPECT_THAT(rows[3], HasSubstr(" 0.9900  9.5 7.25"));
}

TEST(RenderTest, XorTableShowsSecondLayerWeightsAndMeanProducts) {
  const std::string text = RenderXor(OutputFormat::kTable, BlockFilter::kAll);
  EXPECT_THAT(text, HasSubstr("\n  neuron       n0      n1      n2\n"));
  EXPECT_THAT(text, HasSubstr("\n  v        +0.250  -1.500  +0.750\n"));
  EXPECT_THAT(text, HasSubstr("\n  W.mu     +0.500  +1.500  +2.500\n"));
  EXPECT_THAT(text, HasSubstr("\n  W.nu     -0.125  -0.125  -0.125\n"));
}

TEST(RenderTest, XorFinalLinesStateTheRankAndTheCoveredClusters) {
  const std::vector<std::string> lines = Lines(RenderXor(OutputFormat::kTable, BlockFilter::kAll));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[lines.size() - 2],
            "  H second-layer outliers [2]  G second-layer outliers [2]  weight rank 3");
  EXPECT_EQ(lines.back(),
            "classifier rank 2 (expected 4, rank-deficient); covered clusters: +mu -nu (2 of 4)");
}

TEST(RenderTest, MarginalCountsNotApplicableAlignmentsAndAnUndeterminedVerdict) {
  std::vector<v1::JobEvent> events;
  v1::JobEvent snapshot_event;
  snapshot_event.set_job_id("job-9");
  snapshot_event.set_seq(1);
  v1::Spectrum spectrum = MakeSpectrum(v1::HESSIAN, v1::SECOND_LAYER, -1, 4);
  spectrum.set_outlier_count(0);
  spectrum.set_marginal_count(2);
  spectrum.set_alignment_at_outliers(std::nan(""));
  spectrum.set_alignment_at_expected(std::nan(""));
  *snapshot_event.mutable_snapshot()->add_spectra() = spectrum;
  events.push_back(snapshot_event);
  v1::JobEvent finished_event;
  finished_event.set_job_id("job-9");
  finished_event.set_seq(2);
  v1::ClassifierRank* rank = finished_event.mutable_finished()->mutable_rank();
  rank->set_outlier_rank(3);
  rank->set_expected_rank(4);
  rank->set_verdict(v1::UNDETERMINED);
  rank->set_verdict_reason("short by marginal eigenvalues in H class block 2");
  events.push_back(finished_event);
  const std::string text = RenderAll(OutputFormat::kTable, events, false);
  const std::vector<std::string> rows = SpectrumRows(text);
  ASSERT_EQ(rows.size(), 1u) << text;
  EXPECT_THAT(rows[0], HasSubstr(" 0/4        2        0.2 "));  // count, near, edge
  EXPECT_THAT(rows[0], HasSubstr("  n/a /  n/a "));
  const std::vector<std::string> lines = Lines(text);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[lines.size() - 2],
            "  rank verdict: short by marginal eigenvalues in H class block 2");
  EXPECT_EQ(lines.back(), "classifier rank 3 (expected 4, undetermined)");
}

// analysis.theory: measured / predicted beside each other. The measured alignment is computed
// from the snapshot's norms: off 0.6 of |x| 1 gives sqrt(1 - 0.36) = 0.8.
TEST(RenderTest, TheoryLinesShowMeasuredBesidePredicted) {
  std::vector<v1::JobEvent> events(2);
  events[0].set_job_id("job-t");
  events[0].set_seq(1);
  v1::Snapshot* snapshot = events[0].mutable_snapshot();
  snapshot->set_test_accuracy(0.9);
  snapshot->set_test_loss(0.25);
  for (double norm : {1.0, 2.0}) snapshot->add_weight_norms(norm);
  for (double off : {0.6, 2.0}) snapshot->add_off_mean_norms(off);
  v1::TheoryPoint* theory = snapshot->mutable_theory();
  theory->set_test_accuracy(0.95);
  theory->set_test_loss(0.125);
  for (double a : {0.75, 0.5}) theory->add_alignment(a);
  for (double norm : {1.5, 2.5}) theory->add_weight_norms(norm);
  events[1].set_job_id("job-t");
  events[1].set_seq(2);
  v1::TheoryLimit* limit = events[1].mutable_finished()->mutable_theory();
  limit->set_converged(true);
  limit->mutable_limit()->set_time(160);
  limit->mutable_limit()->set_test_accuracy(0.97);
  for (double a : {0.5, 1.0}) limit->mutable_limit()->add_alignment(a);
  // CSV: the snapshot's row carries the predicted metrics (no spectra: one row).
  const std::vector<std::string> csv = Lines(RenderAll(OutputFormat::kCsv, events, false));
  ASSERT_EQ(csv.size(), 2u);
  const std::vector<std::string> header = CsvFields(csv[0]), row = CsvFields(csv[1]);
  ASSERT_EQ(row.size(), header.size());
  EXPECT_EQ(header[header.size() - 2], "predicted_test_loss");
  EXPECT_EQ(row[row.size() - 2], "0.125");
  EXPECT_EQ(row.back(), "0.95");
  const std::string text = RenderAll(OutputFormat::kTable, events, false);
  EXPECT_THAT(text, HasSubstr("  measured/predicted  test acc 0.9000/0.9500  "
                              "test loss 0.2500/0.1250\n"));
  EXPECT_THAT(text, HasSubstr("  align    c0 0.800/0.750  c1 0.000/0.500\n"));
  EXPECT_THAT(text, HasSubstr("  |x|      c0 1.000/1.500  c1 2.000/2.500\n"));
  EXPECT_THAT(text, HasSubstr("  predicted limit (t 160.0, settled): test acc 0.9700  "
                              "test loss 0.0000  mean align 0.750"));
}

TEST(RenderTest, XorWithNoCoveredClusterSaysNone) {
  std::vector<v1::JobEvent> events = MakeXorEventStream();
  v1::ClassifierRank* rank = events.back().mutable_finished()->mutable_rank();
  for (int i = 0; i < rank->covered_clusters_size(); ++i) rank->set_covered_clusters(i, 0);
  EXPECT_THAT(Lines(RenderAll(OutputFormat::kTable, events, false)).back(),
              ::testing::EndsWith("covered clusters: none (0 of 4)"));
}

TEST(RenderTest, LayerFilterSelectsTableRows) {
  const struct {
    BlockFilter filter;
    std::vector<std::string> labels;
  } cases[] = {
      {BlockFilter::kNeuron, {"H n0", "H n1", "H n2", "G n0", "G n1", "G n2"}},
      {BlockFilter::kLayer1, {"H L1", "G L1"}},
      {BlockFilter::kLayer2, {"H L2", "G L2"}},
      {BlockFilter::kFull, {"H full", "G full"}},
  };
  for (const auto& c : cases) {
    const std::string text = RenderXor(OutputFormat::kTable, c.filter);
    const std::vector<std::string> rows = SpectrumRows(text);
    ASSERT_EQ(rows.size(), c.labels.size()) << text;
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_THAT(rows[i], StartsWith("  " + c.labels[i] + " ")) << text;
    }
    // The per-snapshot metrics and the final lines stay.
    EXPECT_THAT(text, HasSubstr("snapshot 0  step 0"));
    EXPECT_THAT(text, HasSubstr("\n  v  "));
    EXPECT_THAT(Lines(text).back(), StartsWith("classifier rank 2"));
  }
  // A filter that matches nothing in the job (class blocks of an XOR run): no block header.
  EXPECT_THAT(RenderXor(OutputFormat::kTable, BlockFilter::kClass),
              Not(HasSubstr("outliers  near  bulk")));
  // k-GMM: class rows only.
  std::ostringstream out;
  auto renderer = MakeEventRenderer(OutputFormat::kTable, &out, false, BlockFilter::kClass);
  for (const v1::JobEvent& event : MakeEventStream(true)) renderer->Render(event);
  EXPECT_EQ(SpectrumRows(out.str()).size(), static_cast<size_t>(kNumSnapshots * kClasses));
  EXPECT_THAT(out.str(), Not(HasSubstr("H full")));
}

TEST(RenderTest, XorCsvUsesLowercaseBlockNamesAndTheLayerFilter) {
  const std::vector<std::string> lines = Lines(RenderXor(OutputFormat::kCsv, BlockFilter::kAll));
  ASSERT_EQ(lines.size(), 1u + kXorSpectraPerSnapshot);
  const std::vector<std::string> header = CsvFields(lines[0]);
  const auto block_column = std::find(header.begin(), header.end(), "block") - header.begin();
  std::vector<std::string> blocks;
  for (size_t i = 1; i < lines.size(); ++i) blocks.push_back(CsvFields(lines[i])[block_column]);
  EXPECT_THAT(blocks,
              ::testing::ElementsAre("neuron", "neuron", "neuron", "layer1", "layer2", "full",
                                     "neuron", "neuron", "neuron", "layer1", "layer2", "full"));

  const std::vector<std::string> layer2 =
      Lines(RenderXor(OutputFormat::kCsv, BlockFilter::kLayer2));
  ASSERT_EQ(layer2.size(), 3u);
  EXPECT_EQ(CsvFields(layer2[1])[block_column], "layer2");
  EXPECT_EQ(CsvFields(layer2[2])[block_column], "layer2");

  // jsonl ignores the filter: whole events.
  EXPECT_EQ(Lines(RenderXor(OutputFormat::kJsonl, BlockFilter::kLayer2)).size(), 3u);
  EXPECT_THAT(RenderXor(OutputFormat::kJsonl, BlockFilter::kLayer2), HasSubstr("\"NEURON\""));
}

TEST(RenderTest, BlockNamesAndLayerFilterNames) {
  EXPECT_EQ(BlockCsvName(v1::CLASS_BLOCK), "class");
  EXPECT_EQ(BlockCsvName(v1::FULL), "full");
  EXPECT_EQ(BlockCsvName(v1::NEURON), "neuron");
  EXPECT_EQ(BlockCsvName(v1::FIRST_LAYER), "layer1");
  EXPECT_EQ(BlockCsvName(v1::SECOND_LAYER), "layer2");
  EXPECT_EQ(BlockCsvName(v1::BLOCK_KIND_UNSPECIFIED), "unspecified");

  BlockFilter filter;
  ASSERT_TRUE(ParseBlockFilter("Layer2", &filter));
  EXPECT_EQ(filter, BlockFilter::kLayer2);
  ASSERT_TRUE(ParseBlockFilter("neuron", &filter));
  EXPECT_EQ(filter, BlockFilter::kNeuron);
  EXPECT_FALSE(ParseBlockFilter("layer3", &filter));

  EXPECT_TRUE(BlockFilterFitsTask(BlockFilter::kClass, v1::JobSpec::kKgmm));
  EXPECT_FALSE(BlockFilterFitsTask(BlockFilter::kClass, v1::JobSpec::kXorTask));
  EXPECT_FALSE(BlockFilterFitsTask(BlockFilter::kLayer1, v1::JobSpec::kKgmm));
  EXPECT_TRUE(BlockFilterFitsTask(BlockFilter::kFull, v1::JobSpec::kXorTask));
  EXPECT_EQ(BlockFilterNames(v1::JobSpec::kXorTask), "neuron|layer1|layer2|full|all");
  EXPECT_EQ(BlockFilterNames(v1::JobSpec::kKgmm), "class|full|all");
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
  EXPECT_EQ(lines.back(), "classifier rank 2 (expected 2, full rank)");
  // Not a terminal: no progress bar, no carriage returns or escape codes.
  EXPECT_THAT(text, Not(HasSubstr("\r")));
  EXPECT_THAT(text, Not(HasSubstr("steps/s")));
}

TEST(RenderTest, TableOfAFailedJobSaysWhyAndHasNoRank) {
  const std::string text = RenderAll(OutputFormat::kTable, MakeEventStream(false), false);
  EXPECT_THAT(text, HasSubstr("finished: FAILED: NaN in the SGD iterate at step 12"));
  EXPECT_EQ(Lines(text).back(), "classifier rank: n/a (the run did not reach its end)");
}

TEST(RenderTest, TableShowsTheFinishReasonBesideTheMessage) {
  std::vector<v1::JobEvent> events = MakeEventStream(false);
  v1::Finished* finished = events.back().mutable_finished();
  finished->set_state(v1::CANCELLED);
  finished->set_reason(v1::SERVER_SHUTDOWN);
  finished->set_error_message("server shutting down");
  EXPECT_THAT(RenderAll(OutputFormat::kTable, events, false),
              HasSubstr("job job-1 finished: CANCELLED (SERVER_SHUTDOWN): server shutting down"));

  v1::Finished completed;
  completed.set_state(v1::SUCCEEDED);
  completed.set_reason(v1::COMPLETED);
  EXPECT_EQ(DescribeFinish(completed), "SUCCEEDED");
  v1::Finished newer;  // a reason this client does not know
  newer.set_state(v1::FAILED);
  newer.set_reason(static_cast<v1::FinishReason>(99));
  newer.set_error_message("disk on fire");
  EXPECT_EQ(DescribeFinish(newer), "FAILED (99): disk on fire");
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

// A progress event of a snapshot's analysis, as the server sends it.
v1::JobEvent AnalysisProgressEvent(int solves_done, double seconds_left, const char* stage) {
  v1::JobEvent event;
  event.set_job_id("job-1");
  v1::Progress* progress = event.mutable_progress();
  progress->set_steps_done(4500);
  progress->set_steps_total(8000);
  v1::AnalysisProgress* analysis = progress->mutable_analysis();
  analysis->set_snapshot_index(3);
  analysis->set_step(4500);
  analysis->set_solves_done(solves_done);
  analysis->set_solves_total(44);
  analysis->set_products_done(1234);
  analysis->set_seconds_elapsed(12.3);
  analysis->set_seconds_left(seconds_left);
  analysis->set_stage(stage);
  return event;
}

TEST(RenderTest, TableShowsAnalysisProgressOneLinePerEvent) {
  const struct {
    double seconds_left;
    const char* stage;
    const char* line;
  } cases[] = {
      {40, "full H",
       "  analysing snapshot 3: full H, 5/44 solves, 1234 products, 12.3 s, ~40 s left"},
      {-1, "full H", "  analysing snapshot 3: full H, 5/44 solves, 1234 products, 12.3 s"},
      {400, "", "  analysing snapshot 3: 5/44 solves, 1234 products, 12.3 s, ~7 min left"},
      {2.5, "class blocks",
       "  analysing snapshot 3: class blocks, 5/44 solves, 1234 products, 12.3 s, ~2.5 s left"},
  };
  for (const auto& c : cases) {
    const std::string text =
        RenderAll(OutputFormat::kTable, {AnalysisProgressEvent(5, c.seconds_left, c.stage)}, false);
    EXPECT_EQ(text, std::string(c.line) + "\n");
  }
  // Not a terminal: a line per event, between the other lines, and no SGD progress bar.
  std::vector<v1::JobEvent> events = MakeEventStream(true);
  events.insert(events.begin() + 2, AnalysisProgressEvent(1, 50, "full H"));
  events.insert(events.begin() + 3, AnalysisProgressEvent(2, 45, "full H"));
  const std::string text = RenderAll(OutputFormat::kTable, events, false);
  EXPECT_THAT(text, HasSubstr("1/44 solves, 1234 products, 12.3 s, ~50 s left\n  analysing "
                              "snapshot 3: full H, 2/44 solves"));
  EXPECT_THAT(text, HasSubstr("~45 s left\nsnapshot 0  step 0"));
  EXPECT_THAT(text, Not(HasSubstr("\r")));
}

TEST(RenderTest, InteractiveTableShowsAnalysisProgressInPlace) {
  std::vector<v1::JobEvent> events = MakeEventStream(true);
  events.insert(events.begin() + 2, AnalysisProgressEvent(1, 50, "full H"));
  events.insert(events.begin() + 3, AnalysisProgressEvent(2, 45, "full H"));
  const std::string text = RenderAll(OutputFormat::kTable, events, true);
  const std::string wipe = "\r\x1b[K";
  EXPECT_THAT(text, HasSubstr("steps/s" + wipe + "  analysing snapshot 3: full H, 1/44 solves"));
  EXPECT_THAT(text, HasSubstr("~50 s left" + wipe + "  analysing snapshot 3: full H, 2/44"));
  EXPECT_THAT(text, HasSubstr("~45 s left" + wipe + "snapshot 0"));
}

TEST(RenderTest, AcceptedBannerShowsTheCostEstimateWhenTheServerSendsOne) {
  std::vector<v1::JobEvent> events = MakeEventStream(true);
  EXPECT_THAT(RenderAll(OutputFormat::kTable, events, false), Not(HasSubstr("estimated cost")));
  v1::JobCostEstimate* cost = events[0].mutable_accepted()->mutable_cost_estimate();
  cost->set_total_flops(4.1e12);
  cost->set_estimated_seconds(370);
  cost->set_nominal_flops_per_second(1e10);
  cost->set_peak_bytes(3.4 * (1 << 30));
  const std::vector<std::string> lines = Lines(RenderAll(OutputFormat::kTable, events, false));
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[2],
            "  estimated cost: 4.1e12 flop, about 6 min at 10 GFlop/s per thread; peak memory "
            "about 3.4 GiB");
  // Small jobs: plain numbers.
  cost->set_total_flops(5.5e7);
  cost->set_estimated_seconds(0.0042);
  cost->set_peak_bytes(3 << 20);
  EXPECT_THAT(RenderAll(OutputFormat::kTable, events, false),
              HasSubstr("  estimated cost: 5.5e7 flop, about 0.0042 s at 10 GFlop/s per thread; "
                        "peak memory about 3.0 MiB\n"));
}

TEST(RenderTest, JsonlCarriesAnalysisProgressAndCostEstimateCsvSkipsThem) {
  std::vector<v1::JobEvent> events = MakeEventStream(true);
  events[0].mutable_accepted()->mutable_cost_estimate()->set_total_flops(4.1e12);
  events.insert(events.begin() + 2, AnalysisProgressEvent(5, 40, "full H"));
  const std::vector<std::string> lines = Lines(RenderAll(OutputFormat::kJsonl, events, false));
  ASSERT_EQ(lines.size(), events.size());
  EXPECT_THAT(lines[0], HasSubstr("\"costEstimate\":{"));
  EXPECT_THAT(lines[2], HasSubstr("\"analysis\":{\"snapshotIndex\":3"));
  EXPECT_THAT(lines[2], HasSubstr("\"stage\":\"full H\""));
  // The csv view has rows for snapshots only, as for every progress event.
  EXPECT_EQ(RenderAll(OutputFormat::kCsv, events, false),
            RenderAll(OutputFormat::kCsv, MakeEventStream(true), false));
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
