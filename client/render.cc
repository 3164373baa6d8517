#include "client/render.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "client/text_util.h"

namespace sgdspectra::client {
namespace {

// The table shows this many of the top eigenvalues of a block: the k expected outliers plus the
// start of the bulk for the default k = 4, without wrapping an 100-column terminal.
constexpr int kTopEigenvaluesShown = 6;
constexpr int kProgressBarWidth = 30;
// XOR snapshots list v, W_i . mu and W_i . nu for this many neurons (K may be up to 64).
constexpr int kNeuronsShown = 8;

// Shortest text that parses back to the same double: csv values lose nothing.
std::string ExactNumber(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// RFC 4180: quote a field that holds a comma, quote or line break.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string JoinCsv(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += CsvField(fields[i]);
  }
  return line;
}

// "2024-05-01 12:00:03Z"; "-" for 0 (not yet).
std::string UtcTime(std::int64_t unix_ms) {
  if (unix_ms == 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%SZ", &utc);
  return buffer;
}

// "4.1e12": a count to two significant digits, without the exponent's sign and padding.
std::string ShortScientific(double value) {
  if (!(value > 0) || !std::isfinite(value)) return StringFormat("%g", value);
  if (value < 1e4) return StringFormat("%.0f", value);
  std::string text = StringFormat("%.1e", value);  // "4.1e+12"
  const size_t e = text.find('e');
  if (e == std::string::npos) return text;
  std::string exponent = text.substr(e + 1);
  if (!exponent.empty() && exponent[0] == '+') exponent.erase(0, 1);
  while (exponent.size() > 1 && exponent[0] == '0') exponent.erase(0, 1);
  return text.substr(0, e + 1) + exponent;
}

// "0.004 s", "4.5 s", "40 s", "6 min", "2.5 h", "3.1 days": a duration for people.
std::string RoughDuration(double seconds) {
  if (!(seconds >= 0)) return "?";
  if (seconds < 10) return StringFormat("%.2g s", seconds);
  if (seconds < 90) return StringFormat("%.0f s", seconds);
  if (seconds < 90 * 60) return StringFormat("%.0f min", seconds / 60);
  if (seconds < 48 * 3600) return StringFormat("%.1f h", seconds / 3600);
  return StringFormat("%.1f days", seconds / 86400);
}

// "3.4 GiB", "512.0 MiB", "20.0 KiB".
std::string RoughBytes(double bytes) {
  constexpr double kKiB = 1024.0;
  if (bytes >= kKiB * kKiB * kKiB) return StringFormat("%.1f GiB", bytes / (kKiB * kKiB * kKiB));
  if (bytes >= kKiB * kKiB) return StringFormat("%.1f MiB", bytes / (kKiB * kKiB));
  return StringFormat("%.1f KiB", bytes / kKiB);
}

// "H c0" for class block 0 of the Hessian, "G full" for the whole G-matrix; XOR: "H n0" for
// neuron 0, "H L1" for the first layer, "H L2" for the second layer.
std::string SpectrumLabel(const v1::Spectrum& spectrum) {
  const std::string matrix = ShortMatrixName(spectrum.matrix());
  switch (spectrum.block()) {
    case v1::FULL:
      return matrix + " full";
    case v1::CLASS_BLOCK:
      return matrix + " c" + std::to_string(spectrum.block_index());
    case v1::NEURON:
      return matrix + " n" + std::to_string(spectrum.block_index());
    case v1::FIRST_LAYER:
      return matrix + " L1";
    case v1::SECOND_LAYER:
      return matrix + " L2";
    default:
      return matrix + " " + BlockCsvName(spectrum.block());
  }
}

// |P x^c| / |x^c| from the snapshot's norms: the measured counterpart of TheoryPoint.alignment.
double MeasuredAlignment(const v1::Snapshot& snapshot, int block) {
  if (block >= snapshot.weight_norms_size() || block >= snapshot.off_mean_norms_size() ||
      snapshot.weight_norms(block) <= 0) {
    return std::nan("");
  }
  const double ratio = snapshot.off_mean_norms(block) / snapshot.weight_norms(block);
  return std::sqrt(std::max(0.0, 1 - ratio * ratio));
}

// A snapshot of an XOR job: it carries v, or a block kind only XOR has.
bool IsXorSnapshot(const v1::Snapshot& snapshot) {
  if (snapshot.second_layer_weights_size() > 0) return true;
  for (const v1::Spectrum& spectrum : snapshot.spectra()) {
    if (spectrum.block() == v1::NEURON || spectrum.block() == v1::FIRST_LAYER ||
        spectrum.block() == v1::SECOND_LAYER) {
      return true;
    }
  }
  return false;
}

// -------------------------------------------------------------------------------------------
// table

class TableRenderer : public EventRenderer {
 public:
  TableRenderer(std::ostream* out, bool interactive, BlockFilter filter)
      : out_(out), interactive_(interactive), filter_(filter) {}

  void Render(const v1::JobEvent& event) override {
    switch (event.kind_case()) {
      case v1::JobEvent::kAccepted:
        RenderAccepted(event.job_id(), event.accepted());
        break;
      case v1::JobEvent::kProgress:
        RenderProgress(event.progress());
        break;
      case v1::JobEvent::kSnapshot:
        RenderSnapshot(event.snapshot());
        break;
      case v1::JobEvent::kFinished:
        RenderFinished(event.job_id(), event.finished());
        break;
      case v1::JobEvent::KIND_NOT_SET:
        break;  // a newer server's event kind: nothing to show
    }
    out_->flush();
  }

  void Close() override {
    ClearProgressBar();
    out_->flush();
  }

 private:
  // Starts a normal line: the progress bar (if drawn) is replaced, not left behind.
  std::ostream& Line() {
    ClearProgressBar();
    return *out_;
  }

  void ClearProgressBar() {
    if (!progress_bar_visible_) return;
    *out_ << "\r\x1b[K";
    progress_bar_visible_ = false;
  }

  void RenderAccepted(const std::string& job_id, const v1::Accepted& accepted) {
    const v1::JobSpec& spec = accepted.resolved_spec();
    std::string task = "task ?";
    if (spec.has_kgmm()) {
      const v1::KgmmTask& kgmm = spec.kgmm();
      task = StringFormat("k-GMM d=%lld k=%d lambda=%g beta=%g", static_cast<long long>(kgmm.dim()),
                          kgmm.num_classes(), kgmm.snr(), kgmm.ridge());
    } else if (spec.has_xor_task()) {
      const v1::XorTask& xor_task = spec.xor_task();
      task =
          StringFormat("XOR d=%lld K=%d lambda=%g alpha=%g", static_cast<long long>(xor_task.dim()),
                       xor_task.hidden(), xor_task.snr(), xor_task.ridge());
    }
    Line() << "job " << job_id << " accepted: " << task << ", seed " << spec.seed() << "\n"
           << StringFormat("  %lld SGD steps, step size %g, %d snapshots, M_test = %lld",
                           static_cast<long long>(accepted.steps_total()), accepted.step_size(),
                           accepted.snapshot_steps_size(),
                           static_cast<long long>(accepted.test_sample_size()))
           << ", server " << (accepted.build_version().empty() ? "?" : accepted.build_version())
           << "\n";
    // Servers before the cost model send no estimate.
    if (accepted.has_cost_estimate()) {
      const v1::JobCostEstimate& cost = accepted.cost_estimate();
      *out_ << "  estimated cost: " << ShortScientific(cost.total_flops()) << " flop, about "
            << RoughDuration(cost.estimated_seconds()) << " at "
            << StringFormat("%g", cost.nominal_flops_per_second() / 1e9)
            << " GFlop/s per thread; peak memory about " << RoughBytes(cost.peak_bytes()) << "\n";
    }
  }

  void RenderProgress(const v1::Progress& progress) {
    if (progress.has_analysis()) {
      RenderAnalysisProgress(progress.analysis());
      return;
    }
    if (!interactive_ || progress.steps_total() <= 0) return;
    const double fraction =
        std::clamp(static_cast<double>(progress.steps_done()) / progress.steps_total(), 0.0, 1.0);
    const int filled = static_cast<int>(fraction * kProgressBarWidth);
    std::string bar(kProgressBarWidth, ' ');
    std::fill(bar.begin(), bar.begin() + filled, '#');
    *out_ << "\r\x1b[K"
          << StringFormat("[%s] %5.1f%%  %lld/%lld steps  %.0f steps/s", bar.c_str(),
                          100 * fraction, static_cast<long long>(progress.steps_done()),
                          static_cast<long long>(progress.steps_total()),
                          progress.steps_per_second());
    progress_bar_visible_ = true;
  }

  // "  analysing snapshot 3: full H, 5/44 solves, 1234 products, 12.3 s, ~40 s left". On a
  // terminal it replaces the progress line in place; otherwise one line per event (the server
  // sends at most about one a second, and only while a snapshot's analysis runs long).
  void RenderAnalysisProgress(const v1::AnalysisProgress& analysis) {
    std::string text = StringFormat("  analysing snapshot %d: ", analysis.snapshot_index());
    if (!analysis.stage().empty()) text += analysis.stage() + ", ";
    text += StringFormat("%d/%d solves, %lld products, ", analysis.solves_done(),
                         analysis.solves_total(), static_cast<long long>(analysis.products_done()));
    text += analysis.seconds_elapsed() < 90 ? StringFormat("%.1f s", analysis.seconds_elapsed())
                                            : RoughDuration(analysis.seconds_elapsed());
    if (analysis.seconds_left() >= 0) {
      text += ", ~" + RoughDuration(analysis.seconds_left()) + " left";
    }
    if (interactive_) {
      *out_ << "\r\x1b[K" << text;
      progress_bar_visible_ = true;
    } else {
      Line() << text << "\n";
    }
  }

  void RenderSnapshot(const v1::Snapshot& snapshot) {
    std::ostream& out = Line();
    out << StringFormat(
        "snapshot %d  step %lld  t %.3f  test acc %.4f  test loss %.4f  train acc %.4f  "
        "grad overlap %.3f\n",
        snapshot.index(), static_cast<long long>(snapshot.step()), snapshot.time(),
        snapshot.test_accuracy(), snapshot.test_loss(), snapshot.train_accuracy(),
        snapshot.gradient_overlap());
    if (IsXorSnapshot(snapshot)) RenderXorWeights(snapshot);
    if (snapshot.has_theory()) RenderTheory(snapshot);
    bool header_written = false;
    for (const v1::Spectrum& spectrum : snapshot.spectra()) {
      if (!BlockFilterShows(filter_, spectrum.block())) continue;
      if (!header_written) {
        out << "  block   outliers  near  bulk edge  align(out/exp)  overlap  top eigenvalues\n";
        header_written = true;
      }
      std::string top;
      const int shown = std::min(spectrum.top_eigenvalues_size(), kTopEigenvaluesShown);
      for (int i = 0; i < shown; ++i)
        top += StringFormat(i == 0 ? "%.4g" : " %.4g", spectrum.top_eigenvalues(i));
      if (spectrum.top_eigenvalues_size() > shown) top += " ...";
      // The second layer lives in hidden space: its overlap with the means is not defined.
      const std::string overlap = spectrum.block() == v1::SECOND_LAYER
                                      ? "      -"
                                      : StringFormat("%7.4f", spectrum.overlap_with_means());
      // near: marginal eigenvalues, above the edge but within the margin (not counted).
      const std::string near =
          spectrum.marginal_count() > 0 ? StringFormat("%4d", spectrum.marginal_count()) : "   -";
      out << StringFormat(
          "  %-7s %3d/%-3d   %s  %9.4g  %s/%-6s   %s  %s\n", SpectrumLabel(spectrum).c_str(),
          spectrum.outlier_count(), spectrum.expected_outliers(), near.c_str(),
          spectrum.bulk_edge(), AlignmentText(spectrum.alignment_at_outliers()).c_str(),
          AlignmentText(spectrum.alignment_at_expected()).c_str(), overlap.c_str(), top.c_str());
    }
  }

  // XOR: one column per neuron (the first kNeuronsShown): v_i, W_i . mu, W_i . nu.
  void RenderXorWeights(const v1::Snapshot& snapshot) {
    const int neurons = std::max(snapshot.num_classes(), snapshot.second_layer_weights_size());
    if (neurons == 0) return;
    const int num_means = snapshot.num_means() > 0 ? snapshot.num_means() : 2;
    const int shown = std::min(neurons, kNeuronsShown);
    const std::string more = neurons > shown ? StringFormat("  ... (K = %d)", neurons) : "";
    std::string header = "  neuron ";
    std::string v = "  v      ";
    std::string w_mu = "  W.mu   ";
    std::string w_nu = "  W.nu   ";
    auto cell = [](const auto& values, int index) {
      return index < values.size() ? StringFormat(" %+7.3f", values.Get(index))
                                   : std::string("       -");
    };
    for (int i = 0; i < shown; ++i) {
      header += StringFormat(" %7s", ("n" + std::to_string(i)).c_str());
      v += cell(snapshot.second_layer_weights(), i);
      w_mu += cell(snapshot.weight_mean_products(), i * num_means);
      w_nu += cell(snapshot.weight_mean_products(), i * num_means + 1);
    }
    *out_ << header << more << "\n" << v << "\n" << w_mu << "\n" << w_nu << "\n";
  }

  // analysis.theory: measured / predicted, the metrics and then per block (the first
  // kNeuronsShown) the alignment with span(means) and the weight norm.
  void RenderTheory(const v1::Snapshot& snapshot) {
    const v1::TheoryPoint& theory = snapshot.theory();
    *out_ << StringFormat("  measured/predicted  test acc %.4f/%.4f  test loss %.4f/%.4f\n",
                          snapshot.test_accuracy(), theory.test_accuracy(), snapshot.test_loss(),
                          theory.test_loss());
    const bool is_xor = IsXorSnapshot(snapshot);
    const char prefix = is_xor ? 'n' : 'c';
    const int blocks = std::min(theory.alignment_size(), snapshot.weight_norms_size());
    const int shown = std::min(blocks, kNeuronsShown);
    std::string align = "  align  ";
    std::string norm = is_xor ? "  |W|    " : "  |x|    ";
    for (int c = 0; c < shown; ++c) {
      align += StringFormat("  %c%d %.3f/%.3f", prefix, c, MeasuredAlignment(snapshot, c),
                            theory.alignment(c));
      norm += StringFormat("  %c%d %.3f/%.3f", prefix, c, snapshot.weight_norms(c),
                           theory.weight_norms(c));
    }
    const std::string more = blocks > shown ? StringFormat("  ... (%d blocks)", blocks) : "";
    *out_ << align << more << "\n" << norm << more << "\n";
  }

  void RenderFinished(const std::string& job_id, const v1::Finished& finished) {
    std::ostream& out = Line();
    out << "job " << job_id << " finished: " << DescribeFinish(finished);
    out << StringFormat("\n  steps %lld  t %.3f  test acc %.4f  test loss %.4f\n",
                        static_cast<long long>(finished.steps_done()), finished.time_done(),
                        finished.final_test_accuracy(), finished.final_test_loss());
    if (finished.has_theory()) RenderTheoryLimit(finished.theory());
    if (!finished.has_rank()) {
      out << "classifier rank: n/a (the run did not reach its end)\n";
      return;
    }
    const v1::ClassifierRank& rank = finished.rank();
    // XOR's last layer is the K x K second layer; covered_clusters is set for XOR only.
    const bool is_xor = rank.covered_clusters_size() > 0;
    const char* blocks = is_xor ? "second-layer" : "class-block";
    out << "  H " << blocks << " outliers " << JoinRanks(rank.h_block_outliers()) << "  G "
        << blocks << " outliers " << JoinRanks(rank.g_block_outliers()) << "  weight rank "
        << rank.weight_rank() << "\n";
    if (!rank.verdict_reason().empty()) out << "  rank verdict: " << rank.verdict_reason() << "\n";
    out << "classifier rank " << rank.outlier_rank() << " (expected " << rank.expected_rank()
        << ", " << VerdictText(rank) << ")";
    if (is_xor) out << "; covered clusters: " << CoveredClusters(rank.covered_clusters());
    out << "\n";
  }

  void RenderTheoryLimit(const v1::TheoryLimit& theory) {
    const v1::TheoryPoint& limit = theory.limit();
    double align = 0;
    for (double a : limit.alignment()) align += a / std::max(1, limit.alignment_size());
    *out_ << StringFormat(
        "  predicted limit (t %.1f, %s): test acc %.4f  test loss %.4f  mean align %.3f  "
        "(prediction %.1f s)\n",
        limit.time(), theory.converged() ? "settled" : "still moving", limit.test_accuracy(),
        limit.test_loss(), align, theory.seconds());
  }

  std::ostream* out_;
  const bool interactive_;
  const BlockFilter filter_;
  bool progress_bar_visible_ = false;
};

// -------------------------------------------------------------------------------------------
// jsonl

class JsonlRenderer : public EventRenderer {
 public:
  explicit JsonlRenderer(std::ostream* out) : out_(out) {}

  void Render(const v1::JobEvent& event) override {
    *out_ << MessageToJsonLine(event) << "\n";
    out_->flush();  // a consumer reading the pipe sees each event as it arrives
  }

 private:
  std::ostream* out_;
};

// -------------------------------------------------------------------------------------------
// csv

class CsvRenderer : public EventRenderer {
 public:
  CsvRenderer(std::ostream* out, BlockFilter filter) : out_(out), filter_(filter) {
    *out_ << EventCsvHeader() << "\n";
  }

  void Render(const v1::JobEvent& event) override {
    if (!event.has_snapshot()) return;
    const v1::Snapshot& snapshot = event.snapshot();
    // The columns after the spectrum's are the snapshot's metrics, repeated on each of its rows
    // so that every row stands alone in a spreadsheet filter; the predicted ones are empty
    // without analysis.theory.
    const bool theory = snapshot.has_theory();
    const std::vector<std::string> snapshot_metrics = {
        ExactNumber(snapshot.train_loss()),
        ExactNumber(snapshot.train_accuracy()),
        ExactNumber(snapshot.test_loss()),
        ExactNumber(snapshot.test_accuracy()),
        ExactNumber(snapshot.gradient_overlap()),
        std::to_string(snapshot.total_products()),
        theory ? ExactNumber(snapshot.theory().test_loss()) : "",
        theory ? ExactNumber(snapshot.theory().test_accuracy()) : ""};
    const std::vector<std::string> snapshot_id = {
        event.job_id(), std::to_string(event.seq()), std::to_string(snapshot.index()),
        std::to_string(snapshot.step()), ExactNumber(snapshot.time())};
    if (snapshot.spectra_size() == 0) {
      // Analysis switched off: still one row, so the metrics are not lost.
      std::vector<std::string> row = snapshot_id;
      row.resize(row.size() + kSpectrumColumns);
      row.insert(row.end(), snapshot_metrics.begin(), snapshot_metrics.end());
      *out_ << JoinCsv(row) << "\n";
    }
    for (const v1::Spectrum& spectrum : snapshot.spectra()) {
      if (!BlockFilterShows(filter_, spectrum.block())) continue;
      std::string top;
      for (int i = 0; i < spectrum.top_eigenvalues_size(); ++i) {
        if (i > 0) top += ';';
        top += ExactNumber(spectrum.top_eigenvalues(i));
      }
      std::vector<std::string> row = snapshot_id;
      const std::vector<std::string> spectrum_fields = {
          v1::MatrixKind_Name(spectrum.matrix()),
          BlockCsvName(spectrum.block()),
          std::to_string(spectrum.block_index()),
          std::to_string(spectrum.outlier_count()),
          std::to_string(spectrum.expected_outliers()),
          ExactNumber(spectrum.bulk_edge()),
          v1::OutlierMethod_Name(spectrum.edge_method()),
          top,
          ExactNumber(spectrum.alignment_at_outliers()),
          ExactNumber(spectrum.alignment_at_expected()),
          ExactNumber(spectrum.overlap_with_means()),
          spectrum.solver().method(),
          std::to_string(spectrum.solver().requested()),
          std::to_string(spectrum.solver().converged()),
          std::to_string(spectrum.solver().products()),
          ExactNumber(spectrum.solver().seconds())};
      row.insert(row.end(), spectrum_fields.begin(), spectrum_fields.end());
      row.insert(row.end(), snapshot_metrics.begin(), snapshot_metrics.end());
      *out_ << JoinCsv(row) << "\n";
    }
    out_->flush();
  }

  static constexpr int kSpectrumColumns = 16;

 private:
  std::ostream* out_;
  const BlockFilter filter_;
};

}  // namespace

std::string VerdictText(const v1::ClassifierRank& rank) {
  if (rank.verdict() == v1::UNDETERMINED) return "undetermined";
  if (rank.verdict() == v1::RANK_DEFICIENT || rank.rank_deficient()) return "rank-deficient";
  return "full rank";
}

std::string AlignmentText(double alignment) {
  return std::isnan(alignment) ? "  n/a " : StringFormat("%6.3f", alignment);
}

std::string JoinRanks(const google::protobuf::RepeatedField<std::int32_t>& values) {
  std::string text = "[";
  for (int i = 0; i < values.size(); ++i) {
    if (i > 0) text += ' ';
    text += std::to_string(values.Get(i));
  }
  return text + "]";
}

std::string DescribeFinish(const v1::Finished& finished) {
  std::string text = v1::JobState_Name(finished.state());
  const v1::FinishReason reason = finished.reason();
  if (reason != v1::FINISH_REASON_UNSPECIFIED && reason != v1::COMPLETED) {
    const std::string& name = v1::FinishReason_Name(reason);
    text += " (" + (name.empty() ? std::to_string(static_cast<int>(reason)) : name) + ")";
  }
  if (!finished.error_message().empty()) text += ": " + finished.error_message();
  return text;
}

// ClassifierRank.covered_clusters order (jobs.proto).
constexpr const char* kXorClusterNames[] = {"+mu", "-mu", "+nu", "-nu"};

std::string ShortMatrixName(v1::MatrixKind matrix) {
  switch (matrix) {
    case v1::HESSIAN:
      return "H";
    case v1::G_MATRIX:
      return "G";
    default:
      return "M" + std::to_string(static_cast<int>(matrix));
  }
}

// "+mu -nu (2 of 4)"; "none (0 of 4)".
std::string CoveredClusters(const google::protobuf::RepeatedField<std::int32_t>& covered) {
  std::string names;
  int count = 0;
  for (int i = 0; i < covered.size(); ++i) {
    if (covered.Get(i) == 0) continue;
    ++count;
    if (!names.empty()) names += ' ';
    names += i < 4 ? kXorClusterNames[i] : "cluster" + std::to_string(i);
  }
  if (names.empty()) names = "none";
  return names + " (" + std::to_string(count) + " of " + std::to_string(covered.size()) + ")";
}

bool ParseOutputFormat(const std::string& text, OutputFormat* format) {
  std::string name = text;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name == "table") {
    *format = OutputFormat::kTable;
  } else if (name == "jsonl") {
    *format = OutputFormat::kJsonl;
  } else if (name == "csv") {
    *format = OutputFormat::kCsv;
  } else {
    return false;
  }
  return true;
}

bool ParseBlockFilter(const std::string& text, BlockFilter* filter) {
  std::string name = text;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name == "all") {
    *filter = BlockFilter::kAll;
  } else if (name == "class") {
    *filter = BlockFilter::kClass;
  } else if (name == "neuron") {
    *filter = BlockFilter::kNeuron;
  } else if (name == "layer1") {
    *filter = BlockFilter::kLayer1;
  } else if (name == "layer2") {
    *filter = BlockFilter::kLayer2;
  } else if (name == "full") {
    *filter = BlockFilter::kFull;
  } else {
    return false;
  }
  return true;
}

std::string BlockFilterNames(v1::JobSpec::TaskCase task) {
  return task == v1::JobSpec::kXorTask ? "neuron|layer1|layer2|full|all" : "class|full|all";
}

bool BlockFilterFitsTask(BlockFilter filter, v1::JobSpec::TaskCase task) {
  switch (filter) {
    case BlockFilter::kAll:
    case BlockFilter::kFull:
      return true;
    case BlockFilter::kClass:
      return task != v1::JobSpec::kXorTask;
    case BlockFilter::kNeuron:
    case BlockFilter::kLayer1:
    case BlockFilter::kLayer2:
      return task == v1::JobSpec::kXorTask;
  }
  return false;
}

bool BlockFilterShows(BlockFilter filter, v1::BlockKind block) {
  switch (filter) {
    case BlockFilter::kAll:
      return true;
    case BlockFilter::kClass:
      return block == v1::CLASS_BLOCK;
    case BlockFilter::kNeuron:
      return block == v1::NEURON;
    case BlockFilter::kLayer1:
      return block == v1::FIRST_LAYER;
    case BlockFilter::kLayer2:
      return block == v1::SECOND_LAYER;
    case BlockFilter::kFull:
      return block == v1::FULL;
  }
  return false;
}

std::string BlockCsvName(v1::BlockKind block) {
  // Spelt out rather than derived from the enum names, so that renaming a proto enum value
  // cannot change the csv.
  switch (block) {
    case v1::BLOCK_KIND_UNSPECIFIED:
      return "unspecified";
    case v1::CLASS_BLOCK:
      return "class";
    case v1::FULL:
      return "full";
    case v1::NEURON:
      return "neuron";
    case v1::FIRST_LAYER:
      return "layer1";
    case v1::SECOND_LAYER:
      return "layer2";
    default:
      return "block" + std::to_string(static_cast<int>(block));
  }
}

std::string MessageToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::string json;
  // Serialising a valid in-memory message cannot fail; on the impossible failure the line is
  // empty rather than half-written.
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) json.clear();
  return json;
}

std::string EventCsvHeader() {
  return "job_id,seq,snapshot,step,time,"
         "matrix,block,block_index,outlier_count,expected_outliers,bulk_edge,edge_method,"
         "top_eigenvalues,alignment_at_outliers,alignment_at_expected,overlap_with_means,"
         "solver_method,solver_requested,solver_converged,solver_products,solver_seconds,"
         "train_loss,train_accuracy,test_loss,test_accuracy,gradient_overlap,total_products,"
         "predicted_test_loss,predicted_test_accuracy";
}

std::unique_ptr<EventRenderer> MakeEventRenderer(OutputFormat format, std::ostream* out,
                                                 bool interactive, BlockFilter filter) {
  switch (format) {
    case OutputFormat::kJsonl:
      return std::make_unique<JsonlRenderer>(out);
    case OutputFormat::kCsv:
      return std::make_unique<CsvRenderer>(out, filter);
    case OutputFormat::kTable:
      break;
  }
  return std::make_unique<TableRenderer>(out, interactive, filter);
}

void RenderJobs(OutputFormat format, const std::vector<v1::Job>& jobs, bool with_header,
                std::ostream* out) {
  if (format == OutputFormat::kJsonl) {
    for (const v1::Job& job : jobs) *out << MessageToJsonLine(job) << "\n";
    return;
  }
  if (format == OutputFormat::kCsv) {
    if (with_header) {
      *out << "job_id,state,name,created_unix_ms,started_unix_ms,finished_unix_ms,steps_done,"
              "steps_total,snapshots_done,last_seq,build_version,error_message,finish_reason,"
              "owner\n";
    }
    for (const v1::Job& job : jobs) {
      *out << JoinCsv({job.job_id(), v1::JobState_Name(job.state()), job.resolved_spec().name(),
                       std::to_string(job.created_unix_ms()), std::to_string(job.started_unix_ms()),
                       std::to_string(job.finished_unix_ms()), std::to_string(job.steps_done()),
                       std::to_string(job.steps_total()), std::to_string(job.snapshots_done()),
                       std::to_string(job.last_seq()), job.build_version(), job.error_message(),
                       job.finish_reason() != v1::FINISH_REASON_UNSPECIFIED
                           ? v1::FinishReason_Name(job.finish_reason())
                           : "",
                       job.owner()})
           << "\n";
    }
    return;
  }

  // table: columns as wide as their widest cell.
  std::vector<std::vector<std::string>> rows;
  if (with_header) rows.push_back({"JOB_ID", "STATE", "STEPS", "SNAPSHOTS", "CREATED", "NAME"});
  for (const v1::Job& job : jobs) {
    rows.push_back({job.job_id(), v1::JobState_Name(job.state()),
                    std::to_string(job.steps_done()) + "/" + std::to_string(job.steps_total()),
                    std::to_string(job.snapshots_done()), UtcTime(job.created_unix_ms()),
                    job.resolved_spec().name()});
  }
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    *out << line << "\n";
  }
}

void RenderJobDetails(const v1::Job& job, std::ostream* out) {
  *out << "job_id:        " << job.job_id() << "\n"
       << "state:         " << v1::JobState_Name(job.state()) << "\n"
       << "name:          " << job.resolved_spec().name() << "\n"
       << "created:       " << UtcTime(job.created_unix_ms()) << "\n"
       << "started:       " << UtcTime(job.started_unix_ms()) << "\n"
       << "finished:      " << UtcTime(job.finished_unix_ms()) << "\n"
       << "progress:      " << job.steps_done() << "/" << job.steps_total() << " steps, "
       << job.snapshots_done() << " snapshots, last event seq " << job.last_seq() << "\n"
       << "build:         " << job.build_version() << "\n"
       << "owner:         " << job.owner() << "\n";
  if (job.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) {
    *out << "reason:        " << v1::FinishReason_Name(job.finish_reason()) << "\n";
  }
  if (!job.error_message().empty()) *out << "error:         " << job.error_message() << "\n";
  *out << "resolved spec: " << MessageToJsonLine(job.resolved_spec()) << "\n";
}

}  // namespace sgdspectra::client
