#include "client/plot/job_figures.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "client/plot/svg_chart.h"
#include "client/render.h"
#include "client/text_util.h"

namespace sgdspectra::client::plot {
namespace {

constexpr char kTimeAxisLabel[] = "t = SGD steps x step size";
constexpr char kBandColor[] = "#8c8c8c";
constexpr char kThresholdColor[] = "#d62728";
// Defaults of jobs.proto, for a record without the Accepted event's resolved spec.
constexpr double kDefaultOutlierMargin = 0.05;

int MatrixOrder(v1::MatrixKind matrix) {
  switch (matrix) {
    case v1::HESSIAN:
      return 0;
    case v1::G_MATRIX:
      return 1;
    default:
      return 2 + static_cast<int>(matrix);
  }
}

// Blocks in the order a reader meets them: per-class / per-neuron, whole layers, everything.
int BlockOrder(v1::BlockKind block) {
  switch (block) {
    case v1::CLASS_BLOCK:
      return 0;
    case v1::NEURON:
      return 1;
    case v1::FIRST_LAYER:
      return 2;
    case v1::SECOND_LAYER:
      return 3;
    case v1::FULL:
      return 4;
    default:
      return 5 + static_cast<int>(block);
  }
}

bool HasBlockIndex(v1::BlockKind block) { return block == v1::CLASS_BLOCK || block == v1::NEURON; }

// One analysed block of one matrix: a curve across snapshots.
struct BlockKey {
  v1::MatrixKind matrix = v1::MATRIX_KIND_UNSPECIFIED;
  v1::BlockKind block = v1::BLOCK_KIND_UNSPECIFIED;
  int index = -1;

  static BlockKey Of(const v1::Spectrum& spectrum) {
    return {spectrum.matrix(), spectrum.block(), spectrum.block_index()};
  }
  bool operator<(const BlockKey& other) const {
    return std::make_tuple(MatrixOrder(matrix), BlockOrder(block), index) <
           std::make_tuple(MatrixOrder(other.matrix), BlockOrder(other.block), other.index);
  }
  bool operator==(const BlockKey& other) const {
    return matrix == other.matrix && block == other.block && index == other.index;
  }
};

std::string MatrixName(v1::MatrixKind matrix) {
  switch (matrix) {
    case v1::HESSIAN:
      return "Hessian";
    case v1::G_MATRIX:
      return "G-matrix";
    default:
      return "matrix " + std::to_string(static_cast<int>(matrix));
  }
}

// "H c0", "G full", "H n1", "H L1", "H L2": the labels of the CLI's table view.
std::string BlockLabel(const BlockKey& key) {
  const std::string matrix = ShortMatrixName(key.matrix);
  switch (key.block) {
    case v1::CLASS_BLOCK:
      return matrix + " c" + std::to_string(key.index);
    case v1::NEURON:
      return matrix + " n" + std::to_string(key.index);
    case v1::FIRST_LAYER:
      return matrix + " L1";
    case v1::SECOND_LAYER:
      return matrix + " L2";
    case v1::FULL:
      return matrix + " full";
    default:
      return matrix + " " + BlockCsvName(key.block);
  }
}

std::string BlockDescription(const BlockKey& key) {
  switch (key.block) {
    case v1::CLASS_BLOCK:
      return "class block c" + std::to_string(key.index);
    case v1::NEURON:
      return "neuron block n" + std::to_string(key.index);
    case v1::FIRST_LAYER:
      return "first layer";
    case v1::SECOND_LAYER:
      return "second layer";
    case v1::FULL:
      return "full matrix";
    default:
      return BlockCsvName(key.block) + " block";
  }
}

// "H_class0", "G_full", "H_neuron3", "H_layer1": the stem of a file name.
std::string BlockFileName(const BlockKey& key) {
  std::string name = ShortMatrixName(key.matrix) + "_" + BlockCsvName(key.block);
  if (HasBlockIndex(key.block)) name += std::to_string(key.index);
  return name;
}

// "class blocks", "neuron blocks", "first layer", ...: a block kind in a histogram title.
std::string KindDescription(v1::BlockKind block) {
  switch (block) {
    case v1::CLASS_BLOCK:
      return "class blocks";
    case v1::NEURON:
      return "neuron blocks";
    default:
      return BlockDescription({v1::MATRIX_KIND_UNSPECIFIED, block, -1});
  }
}

const v1::Spectrum* FindSpectrum(const v1::Snapshot& snapshot, const BlockKey& key) {
  for (const v1::Spectrum& spectrum : snapshot.spectra()) {
    if (BlockKey::Of(spectrum) == key) return &spectrum;
  }
  return nullptr;
}

std::vector<BlockKey> BlocksOf(const JobRecord& job) {
  std::set<BlockKey> keys;
  for (const v1::Snapshot& snapshot : job.snapshots) {
    for (const v1::Spectrum& spectrum : snapshot.spectra()) keys.insert(BlockKey::Of(spectrum));
  }
  return {keys.begin(), keys.end()};
}

bool Shown(const BlockKey& key, const JobFigureOptions& options) {
  return !HasBlockIndex(key.block) || options.all_blocks || key.index < kDefaultBlocksShown;
}

// Outliers are eigenvalues above edge * (1 + margin): the second layer uses its own margin.
double OutlierMargin(const JobRecord& job, v1::BlockKind block) {
  if (!job.accepted) return kDefaultOutlierMargin;
  const v1::JobSpec& spec = job.accepted->resolved_spec();
  if (block == v1::SECOND_LAYER && spec.has_xor_task()) {
    return spec.xor_task().second_layer_margin();
  }
  return spec.analysis().outlier_margin();
}

Figure EigenvalueFigure(const JobRecord& job, const BlockKey& key) {
  std::vector<LineSeries> series;
  BandSeries band;
  band.color = kBandColor;
  std::string method;
  int expected = 0;
  bool all_positive = true;
  for (const v1::Snapshot& snapshot : job.snapshots) {
    const v1::Spectrum* spectrum = FindSpectrum(snapshot, key);
    if (spectrum == nullptr) continue;
    if (method.empty()) method = EdgeMethodName(spectrum->edge_method());
    expected = std::max(expected, spectrum->expected_outliers());
    for (int j = 0; j < spectrum->top_eigenvalues_size(); ++j) {
      if (static_cast<int>(series.size()) <= j) {
        LineSeries line;
        line.name = BlockLabel(key) + " #" + std::to_string(j + 1);
        line.color = PaletteColor(j);
        // The palette has ten colours: the eleventh eigenvalue on is dashed, so that no two
        // lines of a chart look the same.
        line.dashed = j >= 10;
        series.push_back(line);
      }
      const double value = spectrum->top_eigenvalues(j);
      if (!(value > 0)) all_positive = false;
      series[j].points.push_back({snapshot.time(), value});
    }
    if (!(spectrum->bulk_edge() > 0)) all_positive = false;
    band.upper.push_back({snapshot.time(), spectrum->bulk_edge()});
  }
  // The expected outliers are the story; the rest of the top r show where the bulk starts.
  for (int j = 0; j < static_cast<int>(series.size()); ++j) {
    series[j].line_width = j < expected ? 2.0 : 1.0;
  }
  band.name = "bulk edge (" + method + ")";

  Chart chart;
  chart.title_lines = {JobHeadline(job), MatrixName(key.matrix) + ", " + BlockDescription(key) +
                                             ": top " + std::to_string(series.size()) +
                                             " eigenvalues against t"};
  chart.x_axis.label = kTimeAxisLabel;
  // Outliers and bulk differ by orders of magnitude (XOR: 1e-3 against 1e-5), so a log axis
  // shows both; it cannot show a value <= 0.
  chart.y_axis.scale = all_positive ? AxisScale::kLog10 : AxisScale::kLinear;
  chart.y_axis.label = all_positive ? "eigenvalue (log scale)" : "eigenvalue (linear scale)";
  chart.bands.push_back(band);
  chart.lines = std::move(series);
  chart.plot_width = 330;  // two of these side by side in a report 1280 px wide

  Figure figure;
  figure.name = "eigenvalues_" + BlockFileName(key);
  figure.section = "Top eigenvalues";
  figure.caption =
      MatrixName(key.matrix) + ", " + BlockDescription(key) + ": each of the top " +
      std::to_string(chart.lines.size()) + " eigenvalues (" + std::to_string(expected) +
      " outliers expected, thick lines) against t; shaded: below the bulk edge (" + method + ").";
  figure.svg = RenderSvg({chart});
  return figure;
}

// One panel of the alignment figure: a quantity of every shown block of one matrix.
Chart AlignmentPanel(const JobRecord& job, const std::vector<BlockKey>& keys, v1::MatrixKind matrix,
                     bool overlap) {
  Chart chart;
  chart.title_lines = {JobHeadline(job),
                       MatrixName(matrix) + (overlap ? ": overlap of the top eigenspace with "
                                                       "span(means)"
                                                     : ": alignment of the parameters with the "
                                                       "top eigenspace")};
  chart.x_axis.label = kTimeAxisLabel;
  chart.y_axis.label = overlap ? "(1/r) |U_r^T Q|_F^2, r = expected" : "|U_r^T x| / |x|";
  chart.y_axis.min = 0.0;
  double largest = 1.0;
  int color = 0;
  for (const BlockKey& key : keys) {
    if (key.matrix != matrix) continue;
    // The second layer lives in hidden space: no means to overlap with (jobs.proto: 0).
    if (overlap && key.block == v1::SECOND_LAYER) continue;
    LineSeries expected_series;
    expected_series.name = BlockLabel(key) + (overlap ? "" : " (r = expected)");
    expected_series.color = PaletteColor(color);
    LineSeries outlier_series;
    outlier_series.name = BlockLabel(key) + " (r = outliers)";
    outlier_series.color = PaletteColor(color);
    outlier_series.dashed = true;
    outlier_series.hollow_markers = true;
    ++color;
    for (const v1::Snapshot& snapshot : job.snapshots) {
      const v1::Spectrum* spectrum = FindSpectrum(snapshot, key);
      if (spectrum == nullptr) continue;
      const double time = snapshot.time();
      if (overlap) {
        expected_series.points.push_back({time, spectrum->overlap_with_means()});
        largest = std::max(largest, spectrum->overlap_with_means());
      } else {
        expected_series.points.push_back({time, spectrum->alignment_at_expected()});
        outlier_series.points.push_back({time, spectrum->alignment_at_outliers()});
        largest = std::max(
            {largest, spectrum->alignment_at_expected(), spectrum->alignment_at_outliers()});
      }
    }
    chart.lines.push_back(std::move(expected_series));
    if (!overlap) chart.lines.push_back(std::move(outlier_series));
  }
  // Both quantities lie in [0, 1]; a fixed axis makes panels and jobs comparable. Rounding may
  // put a value a hair above 1.
  chart.y_axis.max = largest;
  return chart;
}

Figure AlignmentFigure(const JobRecord& job, const std::vector<BlockKey>& keys) {
  std::set<int> matrix_order;
  std::vector<v1::MatrixKind> matrices;
  for (const BlockKey& key : keys) {
    if (matrix_order.insert(MatrixOrder(key.matrix)).second) matrices.push_back(key.matrix);
  }
  std::vector<Chart> panels;
  for (v1::MatrixKind matrix : matrices) {
    panels.push_back(AlignmentPanel(job, keys, matrix, /*overlap=*/false));
    panels.push_back(AlignmentPanel(job, keys, matrix, /*overlap=*/true));
  }
  Figure figure;
  figure.name = "alignment";
  figure.section = "Alignment and overlap";
  figure.caption =
      "Left: alignment |U_r^T x|/|x| of each block's parameters with its top-r eigenvectors "
      "(solid: r = expected outliers, dashed: r = outlier count). Right: overlap of the top "
      "eigenspace with the span of the means. 1 = inside.";
  figure.svg = RenderSvg(panels, /*columns=*/2);
  return figure;
}

Figure AccuracyFigure(const JobRecord& job) {
  LineSeries test;
  test.name = "test accuracy";
  test.color = PaletteColor(0);
  LineSeries train;
  train.name = "train accuracy (online window)";
  train.color = PaletteColor(1);
  train.dashed = true;
  double largest = 1.0;
  for (const v1::Snapshot& snapshot : job.snapshots) {
    test.points.push_back({snapshot.time(), snapshot.test_accuracy()});
    largest = std::max(largest, snapshot.test_accuracy());
    // Window 0 (t = 0) has no SGD samples: its 0 is not a measurement.
    if (snapshot.train_window() > 0) {
      train.points.push_back({snapshot.time(), snapshot.train_accuracy()});
      largest = std::max(largest, snapshot.train_accuracy());
    }
  }
  Chart chart;
  chart.title_lines = {JobHeadline(job), "accuracy against t"};
  chart.x_axis.label = kTimeAxisLabel;
  chart.y_axis.label = "accuracy (fraction correct)";
  chart.y_axis.min = 0.0;
  chart.y_axis.max = largest;
  chart.lines.push_back(std::move(test));
  if (!train.points.empty()) chart.lines.push_back(std::move(train));

  Figure figure;
  figure.name = "accuracy";
  figure.section = "Accuracy";
  figure.caption =
      "Test accuracy on the job's test sample and the mean train accuracy over the "
      "SGD samples since the previous snapshot, against t.";
  figure.svg = RenderSvg({chart});
  return figure;
}

// A histogram of the top eigenvalues of every block of one kind at one snapshot, with each
// block's outlier threshold.
Chart SpectrumPanel(const JobRecord& job, const v1::Snapshot& snapshot, v1::MatrixKind matrix,
                    v1::BlockKind block) {
  std::vector<double> values;
  std::vector<double> thresholds;
  std::string method;
  int blocks = 0;
  const double margin = OutlierMargin(job, block);
  for (const v1::Spectrum& spectrum : snapshot.spectra()) {
    if (spectrum.matrix() != matrix || spectrum.block() != block) continue;
    ++blocks;
    if (method.empty()) method = EdgeMethodName(spectrum.edge_method());
    for (double value : spectrum.top_eigenvalues()) {
      if (std::isfinite(value)) values.push_back(value);
    }
    thresholds.push_back(spectrum.bulk_edge() * (1 + margin));
  }
  bool all_positive = true;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (const std::vector<double>* list : {&values, &thresholds}) {
    for (double value : *list) {
      if (!std::isfinite(value)) continue;
      if (!(value > 0)) all_positive = false;
      lo = std::min(lo, value);
      hi = std::max(hi, value);
    }
  }
  const AxisScale scale = all_positive ? AxisScale::kLog10 : AxisScale::kLinear;
  auto to_axis = [&](double v) { return scale == AxisScale::kLog10 ? std::log10(v) : v; };
  auto from_axis = [&](double v) { return scale == AxisScale::kLog10 ? std::pow(10.0, v) : v; };

  Chart chart;
  const std::string kind =
      blocks > 1 ? StringFormat("%s (%d blocks)", KindDescription(block).c_str(), blocks)
                 : KindDescription(block);
  chart.title_lines = {
      JobHeadline(job),
      StringFormat("%s, %s: top eigenvalues at t = %g (snapshot %d)", MatrixName(matrix).c_str(),
                   kind.c_str(), snapshot.time(), snapshot.index())};
  chart.x_axis.scale = scale;
  chart.x_axis.label = all_positive ? "eigenvalue (log scale)" : "eigenvalue (linear scale)";
  chart.y_axis.label = "count";
  chart.y_axis.min = 0.0;
  chart.y_axis.integer_ticks = true;
  chart.plot_width = 380;
  chart.plot_height = 200;
  if (values.empty()) return chart;

  // Equal-width bins in axis units: on a log axis each bin spans the same factor.
  double axis_lo = to_axis(lo);
  double axis_hi = to_axis(hi);
  if (axis_hi <= axis_lo) {
    axis_lo -= 0.5;
    axis_hi += 0.5;
  }
  const int bins = std::clamp(2 * static_cast<int>(std::ceil(std::sqrt(values.size()))), 8, 30);
  const double width = (axis_hi - axis_lo) / bins;
  std::vector<int> counts(bins, 0);
  for (double value : values) {
    const int bin = static_cast<int>(std::floor((to_axis(value) - axis_lo) / width));
    ++counts[std::clamp(bin, 0, bins - 1)];
  }
  BarSeries histogram;
  histogram.name = ShortMatrixName(matrix) + " " + KindDescription(block) + ", top eigenvalues";
  histogram.color = matrix == v1::G_MATRIX ? PaletteColor(1) : PaletteColor(0);
  for (int bin = 0; bin < bins; ++bin) {
    if (counts[bin] == 0) continue;
    const double x0 = from_axis(axis_lo + bin * width);
    const double x1 = bin == bins - 1 ? from_axis(axis_hi) : from_axis(axis_lo + (bin + 1) * width);
    histogram.bars.push_back({x0, x1, 0.0, static_cast<double>(counts[bin])});
  }
  // Head room above the tallest bar.
  chart.y_axis.max = *std::max_element(counts.begin(), counts.end()) + 1.0;
  chart.bars.push_back(std::move(histogram));
  const std::string threshold_name =
      StringFormat("outlier threshold: bulk edge (%s) x %g", method.c_str(), 1 + margin);
  for (double threshold : thresholds) {
    chart.vertical_lines.push_back({threshold_name, kThresholdColor, threshold, true});
  }
  return chart;
}

Figure SpectrumFigure(const JobRecord& job, const v1::Snapshot& snapshot) {
  std::set<std::pair<int, int>> seen;
  std::vector<std::pair<v1::MatrixKind, v1::BlockKind>> kinds;
  for (const v1::Spectrum& spectrum : snapshot.spectra()) {
    if (seen.insert({MatrixOrder(spectrum.matrix()), BlockOrder(spectrum.block())}).second) {
      kinds.emplace_back(spectrum.matrix(), spectrum.block());
    }
  }
  std::sort(kinds.begin(), kinds.end(), [](const auto& a, const auto& b) {
    return std::make_pair(MatrixOrder(a.first), BlockOrder(a.second)) <
           std::make_pair(MatrixOrder(b.first), BlockOrder(b.second));
  });
  std::vector<Chart> panels;
  for (const auto& [matrix, block] : kinds) {
    panels.push_back(SpectrumPanel(job, snapshot, matrix, block));
  }
  Figure figure;
  figure.name = "spectrum_t" + StringFormat("%g", snapshot.time());
  figure.section = "Spectrum at chosen times";
  figure.caption = StringFormat(
      "t = %g (snapshot %d, step %lld): histograms of the converged top eigenvalues of every "
      "block of each kind; dashed: each block's outlier threshold.",
      snapshot.time(), snapshot.index(), static_cast<long long>(snapshot.step()));
  figure.svg = RenderSvg(panels, /*columns=*/2);
  return figure;
}

}  // namespace

std::vector<size_t> SelectSnapshots(const std::vector<v1::Snapshot>& snapshots,
                                    const std::vector<double>& times) {
  std::set<size_t> chosen;
  if (snapshots.empty()) return {};
  if (times.empty()) {
    chosen = {0, snapshots.size() / 2, snapshots.size() - 1};
  } else {
    for (double time : times) {
      size_t best = 0;
      for (size_t i = 1; i < snapshots.size(); ++i) {
        if (std::abs(snapshots[i].time() - time) < std::abs(snapshots[best].time() - time)) {
          best = i;
        }
      }
      chosen.insert(best);
    }
  }
  return {chosen.begin(), chosen.end()};
}

JobFigures MakeJobFigures(const JobRecord& job, const JobFigureOptions& options) {
  JobFigures result;
  if (job.snapshots.empty()) {
    result.notes.push_back("No snapshot yet: nothing to draw.");
    return result;
  }
  const std::vector<BlockKey> all_keys = BlocksOf(job);
  std::vector<BlockKey> keys;
  std::map<std::pair<int, int>, int> hidden;  // (matrix, block kind) -> blocks left out
  for (const BlockKey& key : all_keys) {
    if (Shown(key, options)) {
      keys.push_back(key);
    } else {
      ++hidden[{key.matrix, key.block}];
    }
  }
  for (const auto& [kind, count] : hidden) {
    const BlockKey example{static_cast<v1::MatrixKind>(kind.first),
                           static_cast<v1::BlockKind>(kind.second), 0};
    result.notes.push_back(StringFormat(
        "%s: %d more %s not drawn in the eigenvalue and alignment figures (the first %d are; "
        "--blocks all draws every one). The spectrum histograms include them.",
        MatrixName(example.matrix).c_str(), count, KindDescription(example.block).c_str(),
        kDefaultBlocksShown));
  }

  for (const BlockKey& key : keys) result.figures.push_back(EigenvalueFigure(job, key));
  result.figures.push_back(AlignmentFigure(job, keys));
  result.figures.push_back(AccuracyFigure(job));
  std::set<std::string> names;
  for (size_t index : SelectSnapshots(job.snapshots, options.times)) {
    Figure figure = SpectrumFigure(job, job.snapshots[index]);
    // Two snapshots whose times print alike (%g keeps 6 digits) get distinct files.
    if (!names.insert(figure.name).second) {
      figure.name += "_snapshot" + std::to_string(job.snapshots[index].index());
      names.insert(figure.name);
    }
    result.figures.push_back(std::move(figure));
  }
  return result;
}

}  // namespace sgdspectra::client::plot
