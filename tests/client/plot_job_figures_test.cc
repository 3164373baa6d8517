// The figures of one job (client/plot/job_figures.h), from a hand-built event stream whose every
// number is known: each one must come back out of the SVG exactly, at the pixel the chart's
// affine map puts it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "client/plot/job_figures.h"
#include "client/plot/job_record.h"
#include "svg_elements.h"

namespace sgdspectra::client::plot {
namespace {

using ::sgdspectra::testing::AffineMapError;
using ::sgdspectra::testing::ParseSvg;
using ::sgdspectra::testing::SvgDocument;
using ::sgdspectra::testing::SvgElement;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

constexpr double kTimes[] = {0.0, 0.5, 1.25, 3.0, 7.5};
constexpr int kSnapshots = 5;
constexpr int kTopR = 6;
constexpr int kClasses = 2;
constexpr double kMargin = 0.05;
constexpr double kPixelTolerance = 0.01;

// A number per (matrix, block) so that no two blocks share values.
int BlockCode(v1::MatrixKind matrix, v1::BlockKind block, int index) {
  return (matrix == v1::G_MATRIX ? 10 : 0) + (block == v1::FULL ? 5 : index);
}

// Two outliers well above a bulk 100 times lower; factors like 1/7 need all 17 digits.
double Eigenvalue(int snapshot, int code, int j) {
  return (0.9 / (j + 1.0)) * (1.0 + snapshot / 7.0) * (1.0 + code / 3.0) * (j < 2 ? 1.0 : 0.01);
}
double Edge(int snapshot, int code) { return 0.004 * (1.0 + snapshot / 9.0) * (1.0 + code / 5.0); }
double AlignmentExpected(int snapshot, int code) {
  return (snapshot + 1) / 6.1 * (0.9 + code / 37.0);
}
double AlignmentOutliers(int snapshot, int code) {
  return 0.97 * AlignmentExpected(snapshot, code);
}
double Overlap(int snapshot, int code) { return 0.99 - snapshot / 101.0 - code / 53.0; }
double TestAccuracy(int snapshot) { return 0.5 + snapshot / 11.0; }
double TrainAccuracy(int snapshot) { return 0.45 + snapshot / 13.0; }

v1::Spectrum MakeSpectrum(int snapshot, v1::MatrixKind matrix, v1::BlockKind block, int index,
                          int top_r) {
  const int code = BlockCode(matrix, block, index);
  v1::Spectrum spectrum;
  spectrum.set_matrix(matrix);
  spectrum.set_block(block);
  spectrum.set_block_index(index);
  for (int j = 0; j < top_r; ++j) spectrum.add_top_eigenvalues(Eigenvalue(snapshot, code, j));
  spectrum.set_bulk_edge(Edge(snapshot, code));
  spectrum.set_edge_method(v1::NULL_MODEL);
  spectrum.set_outlier_count(2);
  spectrum.set_expected_outliers(2);
  spectrum.set_alignment_at_expected(AlignmentExpected(snapshot, code));
  spectrum.set_alignment_at_outliers(AlignmentOutliers(snapshot, code));
  spectrum.set_overlap_with_means(Overlap(snapshot, code));
  return spectrum;
}

// Accepted, then per snapshot a progress and a snapshot event, then Finished.
std::vector<v1::JobEvent> MakeEvents(int classes = kClasses) {
  std::vector<v1::JobEvent> events;
  int seq = 0;
  auto next = [&] {
    v1::JobEvent event;
    event.set_job_id("j-test-0000000007");
    event.set_seq(++seq);
    return event;
  };
  v1::JobEvent accepted = next();
  v1::JobSpec* spec = accepted.mutable_accepted()->mutable_resolved_spec();
  spec->set_seed(9);
  spec->mutable_kgmm()->set_dim(100);
  spec->mutable_kgmm()->set_num_classes(classes);
  spec->mutable_kgmm()->set_snr(20);
  spec->mutable_kgmm()->set_ridge(0.1);
  spec->mutable_analysis()->set_outlier_margin(kMargin);
  spec->mutable_analysis()->set_top_r(kTopR);
  accepted.mutable_accepted()->set_steps_total(750);
  accepted.mutable_accepted()->set_step_size(0.01);
  events.push_back(accepted);
  for (int s = 0; s < kSnapshots; ++s) {
    v1::JobEvent progress = next();
    progress.mutable_progress()->set_steps_done(static_cast<int>(kTimes[s] * 100));
    events.push_back(progress);
    v1::JobEvent event = next();
    v1::Snapshot* snapshot = event.mutable_snapshot();
    snapshot->set_index(s);
    snapshot->set_step(static_cast<int>(kTimes[s] * 100));
    snapshot->set_time(kTimes[s]);
    snapshot->set_test_accuracy(TestAccuracy(s));
    snapshot->set_train_accuracy(s == 0 ? 0.0 : TrainAccuracy(s));
    snapshot->set_train_window(s == 0 ? 0 : 100);
    for (v1::MatrixKind matrix : {v1::HESSIAN, v1::G_MATRIX}) {
      for (int c = 0; c < classes; ++c) {
        *snapshot->add_spectra() = MakeSpectrum(s, matrix, v1::CLASS_BLOCK, c, kTopR);
      }
      *snapshot->add_spectra() = MakeSpectrum(s, matrix, v1::FULL, -1, kTopR + 2);
    }
    events.push_back(event);
  }
  v1::JobEvent finished = next();
  finished.mutable_finished()->set_state(v1::SUCCEEDED);
  events.push_back(finished);
  return events;
}

JobRecord MakeJob(int classes = kClasses) {
  JobRecord job;
  const Status status = CollectJob(MakeEvents(classes), &job);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return job;
}

const Figure* FindFigure(const JobFigures& figures, const std::string& name) {
  for (const Figure& figure : figures.figures) {
    if (figure.name == name) return &figure;
  }
  return nullptr;
}

SvgDocument ParseFigure(const JobFigures& figures, const std::string& name) {
  const Figure* figure = FindFigure(figures, name);
  EXPECT_NE(figure, nullptr) << name;
  if (figure == nullptr) return {};
  SvgDocument document = ParseSvg(figure->svg);
  EXPECT_EQ(document.error, "") << name;
  return document;
}

std::map<std::string, std::vector<SvgElement>> BySeries(const std::vector<SvgElement>& elements) {
  std::map<std::string, std::vector<SvgElement>> series;
  for (const SvgElement& element : elements)
    series[element.Attribute("data-series")].push_back(element);
  return series;
}

struct BlockCase {
  std::string figure;
  std::string label;
  v1::MatrixKind matrix;
  v1::BlockKind block;
  int index;
  int top_r;
};

std::vector<BlockCase> BlockCases() {
  return {{"eigenvalues_H_class0", "H c0", v1::HESSIAN, v1::CLASS_BLOCK, 0, kTopR},
          {"eigenvalues_H_class1", "H c1", v1::HESSIAN, v1::CLASS_BLOCK, 1, kTopR},
          {"eigenvalues_H_full", "H full", v1::HESSIAN, v1::FULL, -1, kTopR + 2},
          {"eigenvalues_G_class0", "G c0", v1::G_MATRIX, v1::CLASS_BLOCK, 0, kTopR},
          {"eigenvalues_G_class1", "G c1", v1::G_MATRIX, v1::CLASS_BLOCK, 1, kTopR},
          {"eigenvalues_G_full", "G full", v1::G_MATRIX, v1::FULL, -1, kTopR + 2}};
}

TEST(JobFiguresTest, OneFigurePerBlockThenAlignmentAccuracyAndThreeSpectra) {
  const JobFigures figures = MakeJobFigures(MakeJob(), {});
  std::vector<std::string> names;
  for (const Figure& figure : figures.figures) names.push_back(figure.name);
  EXPECT_THAT(names, ElementsAre("eigenvalues_H_class0", "eigenvalues_H_class1",
                                 "eigenvalues_H_full", "eigenvalues_G_class0",
                                 "eigenvalues_G_class1", "eigenvalues_G_full", "alignment",
                                 "accuracy", "spectrum_t0", "spectrum_t1.25", "spectrum_t7.5"));
  EXPECT_TRUE(figures.notes.empty());
}

TEST(JobFiguresTest, EveryTopEigenvalueIsAPointAtItsSnapshotTimeExactly) {
  const JobFigures figures = MakeJobFigures(MakeJob(), {});
  for (const BlockCase& block : BlockCases()) {
    SCOPED_TRACE(block.figure);
    const SvgDocument svg = ParseFigure(figures, block.figure);
    const auto series = BySeries(svg.OfClass("point"));
    ASSERT_EQ(series.size(), static_cast<size_t>(block.top_r));
    const int code = BlockCode(block.matrix, block.block, block.index);
    for (int j = 0; j < block.top_r; ++j) {
      const std::string name = block.label + " #" + std::to_string(j + 1);
      ASSERT_EQ(series.count(name), 1u) << name;
      const std::vector<SvgElement>& points = series.at(name);
      ASSERT_EQ(points.size(), static_cast<size_t>(kSnapshots)) << name;
      for (int s = 0; s < kSnapshots; ++s) {
        EXPECT_EQ(points[s].Number("data-x"), kTimes[s]) << name;
        EXPECT_EQ(points[s].Number("data-y"), Eigenvalue(s, code, j)) << name << " snapshot " << s;
      }
    }
    // Each series is also a <g class="series"> of that name.
    std::set<std::string> groups;
    for (const SvgElement& group : svg.OfClass("series"))
      groups.insert(group.Attribute("data-series"));
    EXPECT_EQ(groups.size(), static_cast<size_t>(block.top_r));
  }
}

TEST(JobFiguresTest, BulkEdgeBandTopFollowsTheEdgeAndStartsAtTheAxisFloor) {
  const JobFigures figures = MakeJobFigures(MakeJob(), {});
  for (const BlockCase& block : BlockCases()) {
    SCOPED_TRACE(block.figure);
    const SvgDocument svg = ParseFigure(figures, block.figure);
    const std::vector<SvgElement> band_groups = svg.OfClass("band");
    ASSERT_EQ(band_groups.size(), 1u);
    EXPECT_EQ(band_groups[0].Attribute("data-series"), "bulk edge (null model)");
    const std::vector<SvgElement> tops = svg.OfClass("band-top");
    ASSERT_EQ(tops.size(), static_cast<size_t>(kSnapshots));
    const int code = BlockCode(block.matrix, block.block, block.index);
    for (int s = 0; s < kSnapshots; ++s) {
      EXPECT_EQ(tops[s].Number("data-x"), kTimes[s]);
      EXPECT_EQ(tops[s].Number("data-y"), Edge(s, code));
    }
    // The band's tops obey the same map as the eigenvalue points.
    std::vector<SvgElement> all = svg.OfClass("point");
    all.insert(all.end(), tops.begin(), tops.end());
    EXPECT_LT(AffineMapError(all, "data-y", "cy", /*log_scale=*/true), kPixelTolerance);
    EXPECT_LT(AffineMapError(all, "data-x", "cx", /*log_scale=*/false), kPixelTolerance);
    // The area closes along the bottom of the plot: the frame's bottom edge.
    const std::vector<SvgElement> frames = svg.OfClass("frame");
    ASSERT_EQ(frames.size(), 1u);
    const double floor = frames[0].Number("y") + frames[0].Number("height");
    const std::vector<SvgElement> areas = svg.OfClass("band-area");
    ASSERT_EQ(areas.size(), 1u);
    const std::string path = areas[0].Attribute("d");
    const double first_y = std::strtod(path.substr(path.find(',') + 1).c_str(), nullptr);
    EXPECT_NEAR(first_y, floor, 1e-3) << path;
    // Every band top lies above the floor (smaller pixel y).
    for (const SvgElement& top : tops) EXPECT_LT(top.Number("cy"), floor);
  }
}

TEST(JobFiguresTest, EigenvalueChartsUseALogAxisAndSayWhichAndCarryTheParameters) {
  const JobFigures figures = MakeJobFigures(MakeJob(), {});
  const SvgDocument svg = ParseFigure(figures, "eigenvalues_H_class0");
  ASSERT_EQ(svg.charts.size(), 1u);
  EXPECT_EQ(svg.charts[0].Attribute("data-y-scale"), "log10");
  EXPECT_EQ(svg.charts[0].Attribute("data-x-scale"), "linear");
  EXPECT_THAT(svg.charts[0].Attribute("data-title"),
              HasSubstr("k-GMM d=100 k=2 lambda=20 beta=0.1, seed 9, job j-test-0000000007"));
  EXPECT_THAT(FindFigure(figures, "eigenvalues_H_class0")->svg,
              HasSubstr(">eigenvalue (log scale)</text>"));
  EXPECT_THAT(FindFigure(figures, "eigenvalues_H_class0")->svg,
              HasSubstr(">t = SGD steps x step size</text>"));
}

// Every drawn element of every chart of every figure: one affine map per chart and axis.
TEST(JobFiguresTest, PixelsAreOneAffineMapOfTheDataPerChart) {
  const JobFigures figures = MakeJobFigures(MakeJob(), {});
  for (const Figure& figure : figures.figures) {
    const SvgDocument svg = ParseSvg(figure.svg);
    ASSERT_EQ(svg.error, "") << figure.name;
    for (size_t chart = 0; chart < svg.charts.size(); ++chart) {
      SCOPED_TRACE(figure.name + " chart " + std::to_string(chart));
      const bool log_x = svg.charts[chart].Attribute("data-x-scale") == "log10";
      const bool log_y = svg.charts[chart].Attribute("data-y-scale") == "log10";
      std::vector<SvgElement> marks = svg.OfClass("point", chart);
      const std::vector<SvgElement> tops = svg.OfClass("band-top", chart);
      marks.insert(marks.end(), tops.begin(), tops.end());
      EXPECT_LT(AffineMapError(marks, "data-x", "cx", log_x), kPixelTolerance);
      EXPECT_LT(AffineMapError(marks, "data-y", "cy", log_y), kPixelTolerance);

      // Bars: left and right edges map x0 and x1 with the vertical lines' map; tops map
      // base + value with the same map as everything else on y (bases here are 0: the floor).
      std::vector<SvgElement> x_marks;
      for (SvgElement bar : svg.OfClass("bar", chart)) {
        SvgElement left = bar;
        left.attributes["px"] = bar.Attribute("x");
        left.attributes["dx"] = bar.Attribute("data-x0");
        SvgElement right = bar;
        right.attributes["px"] = std::to_string(bar.Number("x") + bar.Number("width"));
        right.attributes["dx"] = bar.Attribute("data-x1");
        x_marks.push_back(left);
        x_marks.push_back(right);
        EXPECT_EQ(bar.Number("data-y0"), 0.0);
      }
      for (SvgElement line : svg.OfClass("vline", chart)) {
        line.attributes["px"] = line.Attribute("x1");
        line.attributes["dx"] = line.Attribute("data-x");
        x_marks.push_back(line);
      }
      // std::to_string keeps 6 decimals: tolerance well above that rounding.
      EXPECT_LT(AffineMapError(x_marks, "dx", "px", log_x), kPixelTolerance);
      std::vector<SvgElement> y_marks;
      for (SvgElement bar : svg.OfClass("bar", chart)) {
        bar.attributes["py"] = bar.Attribute("y");
        y_marks.push_back(bar);
      }
      if (y_marks.size() >= 2) {
        EXPECT_LT(AffineMapError(y_marks, "data-y", "py", log_y), kPixelTolerance);
      }
    }
  }
}

TEST(JobFiguresTest, AlignmentAndOverlapPointsAreTheSpectrumValues) {
  const JobFigures figures = MakeJobFigures(MakeJob(), {});
  const SvgDocument svg = ParseFigure(figures, "alignment");
  // H alignment, H overlap, G alignment, G overlap.
  ASSERT_EQ(svg.charts.size(), 4u);
  struct Panel {
    int chart;
    v1::MatrixKind matrix;
    bool overlap;
  };
  for (const Panel& panel : {Panel{0, v1::HESSIAN, false}, Panel{1, v1::HESSIAN, true},
                             Panel{2, v1::G_MATRIX, false}, Panel{3, v1::G_MATRIX, true}}) {
    SCOPED_TRACE(panel.chart);
    const auto series = BySeries(svg.OfClass("point", panel.chart));
    EXPECT_EQ(series.size(), panel.overlap ? 3u : 6u);  // c0, c1, full (x2 for alignment)
    const std::string letter = panel.matrix == v1::HESSIAN ? "H" : "G";
    for (int block = 0; block <= kClasses; ++block) {
      const bool full = block == kClasses;
      const std::string label = letter + (full ? " full" : " c" + std::to_string(block));
      const int code = BlockCode(panel.matrix, full ? v1::FULL : v1::CLASS_BLOCK, block);
      const std::string expected_name = panel.overlap ? label : label + " (r = expected)";
      ASSERT_EQ(series.count(expected_name), 1u) << expected_name;
      const auto& expected_points = series.at(expected_name);
      ASSERT_EQ(expected_points.size(), static_cast<size_t>(kSnapshots));
      for (int s = 0; s < kSnapshots; ++s) {
        EXPECT_EQ(expected_points[s].Number("data-x"), kTimes[s]);
        EXPECT_EQ(expected_points[s].Number("data-y"),
                  panel.overlap ? Overlap(s, code) : AlignmentExpected(s, code));
      }
      if (panel.overlap) continue;
      const auto& outlier_points = series.at(label + " (r = outliers)");
      ASSERT_EQ(outlier_points.size(), static_cast<size_t>(kSnapshots));
      for (int s = 0; s < kSnapshots; ++s) {
        EXPECT_EQ(outlier_points[s].Number("data-y"), AlignmentOutliers(s, code));
      }
    }
    EXPECT_EQ(svg.charts[panel.chart].Attribute("data-y-scale"), "linear");
  }
}

TEST(JobFiguresTest, AccuracyPointsSkipTheEmptyTrainWindowAtTimeZero) {
  const JobFigures figures = MakeJobFigures(MakeJob(), {});
  const SvgDocument svg = ParseFigure(figures, "accuracy");
  const auto series = BySeries(svg.OfClass("point"));
  ASSERT_EQ(series.count("test accuracy"), 1u);
  ASSERT_EQ(series.count("train accuracy (online window)"), 1u);
  const auto& test = series.at("test accuracy");
  ASSERT_EQ(test.size(), static_cast<size_t>(kSnapshots));
  for (int s = 0; s < kSnapshots; ++s) {
    EXPECT_EQ(test[s].Number("data-x"), kTimes[s]);
    EXPECT_EQ(test[s].Number("data-y"), TestAccuracy(s));
  }
  const auto& train = series.at("train accuracy (online window)");
  ASSERT_EQ(train.size(), static_cast<size_t>(kSnapshots - 1));
  for (int s = 1; s < kSnapshots; ++s) {
    EXPECT_EQ(train[s - 1].Number("data-x"), kTimes[s]);
    EXPECT_EQ(train[s - 1].Number("data-y"), TrainAccuracy(s));
  }
}

TEST(JobFiguresTest, SpectrumHistogramsCountEveryEigenvalueOnceAndMarkEachThreshold) {
  const JobFigures figures = MakeJobFigures(MakeJob(), {});
  const std::vector<std::pair<std::string, int>> chosen = {
      {"spectrum_t0", 0}, {"spectrum_t1.25", 2}, {"spectrum_t7.5", 4}};
  for (const auto& [name, s] : chosen) {
    SCOPED_TRACE(name);
    const SvgDocument svg = ParseFigure(figures, name);
    // H class blocks, H full, G class blocks, G full.
    ASSERT_EQ(svg.charts.size(), 4u);
    int chart = 0;
    for (v1::MatrixKind matrix : {v1::HESSIAN, v1::G_MATRIX}) {
      for (v1::BlockKind block : {v1::CLASS_BLOCK, v1::FULL}) {
        std::vector<double> values;
        std::vector<double> thresholds;
        const int blocks = block == v1::FULL ? 1 : kClasses;
        for (int b = 0; b < blocks; ++b) {
          const int code = BlockCode(matrix, block, b);
          const int top_r = block == v1::FULL ? kTopR + 2 : kTopR;
          for (int j = 0; j < top_r; ++j) values.push_back(Eigenvalue(s, code, j));
          thresholds.push_back(Edge(s, code) * (1 + kMargin));
        }
        const std::vector<SvgElement> bars = svg.OfClass("bar", chart);
        double total = 0;
        for (const SvgElement& bar : bars) total += bar.Number("data-y");
        EXPECT_EQ(total, static_cast<double>(values.size())) << "chart " << chart;
        // Each value lies in exactly one bar, and each bar's count is the values inside it.
        for (const SvgElement& bar : bars) {
          const double x0 = bar.Number("data-x0");
          const double x1 = bar.Number("data-x1");
          const auto inside = std::count_if(values.begin(), values.end(), [&](double v) {
            // Bin edges are recomputed through pow(10, .): allow a relative 1e-12 at the ends.
            return v >= x0 * (1 - 1e-12) && v <= x1 * (1 + 1e-12);
          });
          EXPECT_EQ(static_cast<double>(inside), bar.Number("data-y"))
              << "chart " << chart << " bar [" << x0 << ", " << x1 << "]";
        }
        std::vector<double> lines;
        for (const SvgElement& line : svg.OfClass("vline", chart))
          lines.push_back(line.Number("data-x"));
        EXPECT_THAT(lines, UnorderedElementsAreArray(thresholds)) << "chart " << chart;
        EXPECT_EQ(svg.charts[chart].Attribute("data-x-scale"), "log10");
        ++chart;
      }
    }
  }
}

TEST(JobFiguresTest, TimesPickTheNearestSnapshots) {
  JobFigureOptions options;
  options.times = {0.7, 100};
  const JobFigures figures = MakeJobFigures(MakeJob(), options);
  std::vector<std::string> spectra;
  for (const Figure& figure : figures.figures) {
    if (figure.section == "Spectrum at chosen times") spectra.push_back(figure.name);
  }
  EXPECT_THAT(spectra, ElementsAre("spectrum_t0.5", "spectrum_t7.5"));
}

TEST(SelectSnapshotsTest, NearestEachOnceInTimeOrderTiesToTheEarlier) {
  const JobRecord job = MakeJob();
  EXPECT_THAT(SelectSnapshots(job.snapshots, {}), ElementsAre(0u, 2u, 4u));
  EXPECT_THAT(SelectSnapshots(job.snapshots, {100, -3, 0.7}), ElementsAre(0u, 1u, 4u));
  EXPECT_THAT(SelectSnapshots(job.snapshots, {0.875}), ElementsAre(1u));  // between 0.5 and 1.25
  EXPECT_THAT(SelectSnapshots(job.snapshots, {3, 3.1, 2.9}), ElementsAre(3u));
  EXPECT_TRUE(SelectSnapshots({}, {1.0}).empty());
}

TEST(JobFiguresTest, FirstFourClassBlocksUnlessAllBlocks) {
  const JobRecord job = MakeJob(/*classes=*/6);
  auto eigenvalue_figures = [](const JobFigures& figures) {
    int count = 0;
    for (const Figure& figure : figures.figures) {
      if (figure.section == "Top eigenvalues") ++count;
    }
    return count;
  };
  const JobFigures some = MakeJobFigures(job, {});
  EXPECT_EQ(eigenvalue_figures(some), 2 * (4 + 1));
  EXPECT_EQ(FindFigure(some, "eigenvalues_H_class4"), nullptr);
  ASSERT_EQ(some.notes.size(), 2u);  // H and G
  EXPECT_THAT(some.notes[0], HasSubstr("2 more class blocks"));
  // The alignment panel shows the same blocks: c0..c3 and full, two series each.
  const SvgDocument alignment = ParseFigure(some, "alignment");
  EXPECT_EQ(BySeries(alignment.OfClass("point", 0)).size(), 10u);
  // The histograms pool every block anyway.
  const SvgDocument spectrum = ParseFigure(some, "spectrum_t0");
  double total = 0;
  for (const SvgElement& bar : spectrum.OfClass("bar", 0)) total += bar.Number("data-y");
  EXPECT_EQ(total, 6.0 * kTopR);

  JobFigureOptions all;
  all.all_blocks = true;
  const JobFigures every = MakeJobFigures(job, all);
  EXPECT_EQ(eigenvalue_figures(every), 2 * (6 + 1));
  EXPECT_NE(FindFigure(every, "eigenvalues_G_class5"), nullptr);
  EXPECT_TRUE(every.notes.empty());
}

TEST(JobFiguresTest, ANonPositiveEigenvalueGivesALinearAxisThatSaysSo) {
  std::vector<v1::JobEvent> events = MakeEvents();
  events[2].mutable_snapshot()->mutable_spectra(0)->set_top_eigenvalues(kTopR - 1, 0.0);
  JobRecord job;
  ASSERT_TRUE(CollectJob(events, &job).ok());
  const JobFigures figures = MakeJobFigures(job, {});
  const SvgDocument svg = ParseFigure(figures, "eigenvalues_H_class0");
  EXPECT_EQ(svg.charts[0].Attribute("data-y-scale"), "linear");
  EXPECT_THAT(FindFigure(figures, "eigenvalues_H_class0")->svg,
              HasSubstr(">eigenvalue (linear scale)</text>"));
  // The zero is drawn too (a linear axis can), with all other points on one linear map.
  const auto points = svg.OfClass("point");
  EXPECT_EQ(points.size(), static_cast<size_t>(kTopR * kSnapshots));
  EXPECT_LT(AffineMapError(points, "data-y", "cy", false), kPixelTolerance);
}

TEST(JobFiguresTest, NoSnapshotsNoFiguresButANote) {
  std::vector<v1::JobEvent> events = MakeEvents();
  events.resize(1);  // Accepted only
  JobRecord job;
  ASSERT_TRUE(CollectJob(events, &job).ok());
  const JobFigures figures = MakeJobFigures(job, {});
  EXPECT_TRUE(figures.figures.empty());
  EXPECT_THAT(figures.notes, ElementsAre(HasSubstr("No snapshot")));
}

TEST(CollectJobTest, SortsEventsAndRefusesTwoJobsOrRepeatedSeqs) {
  const JobRecord job = MakeJob();
  EXPECT_EQ(job.job_id, "j-test-0000000007");
  ASSERT_TRUE(job.accepted.has_value());
  EXPECT_EQ(job.snapshots.size(), static_cast<size_t>(kSnapshots));
  ASSERT_TRUE(job.finished.has_value());
  EXPECT_EQ(job.finished->state(), v1::SUCCEEDED);

  std::vector<v1::JobEvent> two_jobs = MakeEvents();
  two_jobs.back().set_job_id("j-other");
  JobRecord record;
  Status status = CollectJob(two_jobs, &record);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("more than one job"));

  std::vector<v1::JobEvent> twice = MakeEvents();
  const std::vector<v1::JobEvent> again = MakeEvents();
  twice.insert(twice.end(), again.begin(), again.end());
  status = CollectJob(twice, &record);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("appears twice"));
}

TEST(JobRecordTest, HeadlineAndParametersNameTheTask) {
  const JobRecord job = MakeJob();
  EXPECT_EQ(JobHeadline(job), "k-GMM d=100 k=2 lambda=20 beta=0.1, seed 9, job j-test-0000000007");
  v1::JobSpec xor_spec;
  xor_spec.mutable_xor_task()->set_dim(250);
  xor_spec.mutable_xor_task()->set_hidden(4);
  xor_spec.mutable_xor_task()->set_snr(1000);
  xor_spec.mutable_xor_task()->set_ridge(0.1);
  EXPECT_EQ(TaskDescription(xor_spec), "XOR d=250 K=4 lambda=1000 alpha=0.1");
  bool has_state = false;
  for (const auto& [name, value] : JobParameters(job)) {
    if (name == "state") {
      has_state = true;
      EXPECT_EQ(value, "SUCCEEDED");
    }
  }
  EXPECT_TRUE(has_state);
}

}  // namespace
}  // namespace sgdspectra::client::plot
