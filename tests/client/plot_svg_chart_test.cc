// The hand-written SVG charts (client/plot/svg_chart.h): data read back exactly, pixels on one
// affine map, ticks at nice numbers, escaping, points outside a fixed range left out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "client/plot/svg_chart.h"
#include "svg_elements.h"

namespace sgdspectra::client::plot {
namespace {

using ::sgdspectra::testing::AffineMapError;
using ::sgdspectra::testing::ParseSvg;
using ::sgdspectra::testing::SvgDocument;
using ::sgdspectra::testing::SvgElement;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> TickLabels(const std::string& svg) {
  std::vector<std::string> labels;
  const std::string marker = "class=\"tick-label\"";
  for (size_t at = svg.find(marker); at != std::string::npos; at = svg.find(marker, at + 1)) {
    const size_t open = svg.find('>', at) + 1;
    labels.push_back(svg.substr(open, svg.find('<', open) - open));
  }
  return labels;
}

TEST(SvgChartTest, LinePointsCarryExactDataOnOneAffineMap) {
  Chart chart;
  chart.title_lines = {"title"};
  LineSeries line;
  line.name = "s";
  line.color = "#123456";
  line.points = {{0.1, 1.0 / 3.0}, {0.7, 2.0 / 7.0}, {2.5, 0.9}, {3.0, 0.125}};
  chart.lines.push_back(line);
  const SvgDocument svg = ParseSvg(RenderSvg({chart}));
  ASSERT_EQ(svg.error, "");
  const std::vector<SvgElement> points = svg.OfClass("point");
  ASSERT_EQ(points.size(), line.points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(points[i].Number("data-x"), line.points[i].x);
    EXPECT_EQ(points[i].Number("data-y"), line.points[i].y);
    EXPECT_EQ(points[i].Attribute("data-series"), "s");
  }
  EXPECT_LT(AffineMapError(points, "data-x", "cx", false), 0.01);
  EXPECT_LT(AffineMapError(points, "data-y", "cy", false), 0.01);
  // y grows upwards: a larger value has a smaller pixel y.
  EXPECT_LT(points[2].Number("cy"), points[3].Number("cy"));
  EXPECT_GT(points[2].Number("cx"), points[1].Number("cx"));
}

TEST(SvgChartTest, LinearTicksAreNiceNumbersCoveringTheData) {
  Chart chart;
  chart.lines.push_back({"s", "#000000", {{0, 0.13}, {9.3, 0.97}}});
  const std::vector<std::string> labels = TickLabels(RenderSvg({chart}));
  // x: 0..10 in steps of 2; y: 0.0..1.0 in steps of 0.2.
  EXPECT_THAT(labels,
              ElementsAre("0", "2", "4", "6", "8", "10", "0.0", "0.2", "0.4", "0.6", "0.8", "1.0"));
}

TEST(SvgChartTest, LogTicksAreOneTwoFiveAndTheMapIsAffineInLog10) {
  Chart chart;
  chart.y_axis.scale = AxisScale::kLog10;
  chart.lines.push_back({"s", "#000000", {{0, 0.013}, {1, 0.0021}, {2, 0.087}, {3, 0.05}}});
  const std::string text = RenderSvg({chart});
  const SvgDocument svg = ParseSvg(text);
  ASSERT_EQ(svg.error, "");
  EXPECT_EQ(svg.charts[0].Attribute("data-y-scale"), "log10");
  const std::vector<SvgElement> points = svg.OfClass("point");
  EXPECT_LT(AffineMapError(points, "data-y", "cy", true), 0.01);
  EXPECT_GT(AffineMapError(points, "data-y", "cy", false), 1.0);  // not linear in y
  const std::vector<std::string> labels = TickLabels(text);
  // x: 0, 0.5, ..., 3 first; then y over [0.001, 0.1] (the data with a little room, widened to
  // 1-2-5 values).
  ASSERT_EQ(labels.size(), 7u + 7u);
  const std::vector<std::string> y_labels(labels.begin() + 7, labels.end());
  EXPECT_THAT(y_labels, ElementsAre("0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1"));
}

TEST(SvgChartTest, PointsOutsideAFixedRangeOrNotDrawableAreLeftOut) {
  Chart chart;
  chart.y_axis.min = 0.0;
  chart.y_axis.max = 1.0;
  chart.lines.push_back(
      {"s", "#000000", {{0, 0.5}, {1, 1.5}, {2, NAN}, {3, 0.25}, {4, INFINITY}, {5, 1.0}}});
  const SvgDocument svg = ParseSvg(RenderSvg({chart}));
  std::vector<double> xs;
  for (const SvgElement& point : svg.OfClass("point")) xs.push_back(point.Number("data-x"));
  EXPECT_THAT(xs, ElementsAre(0, 3, 5));
  // The line breaks at the gaps: three pieces, each a move.
  const std::vector<SvgElement> lines = svg.OfClass("line");
  ASSERT_EQ(lines.size(), 1u);
  const std::string path = lines[0].Attribute("d");
  EXPECT_EQ(std::count(path.begin(), path.end(), 'M'), 3) << path;

  Chart log_chart;
  log_chart.y_axis.scale = AxisScale::kLog10;
  log_chart.lines.push_back({"s", "#000000", {{0, 0.5}, {1, 0.0}, {2, -1.0}, {3, 2.0}}});
  EXPECT_EQ(ParseSvg(RenderSvg({log_chart})).OfClass("point").size(), 2u);
}

TEST(SvgChartTest, TextAndAttributesAreEscaped) {
  Chart chart;
  chart.title_lines = {"a < b & \"c\" 'd'"};
  chart.x_axis.label = "x <i>";
  chart.lines.push_back({"H c0 <#1> & \"q\"", "#000000", {{0, 1}, {1, 2}}});
  const std::string text = RenderSvg({chart});
  EXPECT_THAT(text, HasSubstr("a &lt; b &amp; &quot;c&quot; &#39;d&#39;"));
  EXPECT_THAT(text, HasSubstr("x &lt;i&gt;"));
  EXPECT_THAT(text, Not(HasSubstr("<i>")));
  const SvgDocument svg = ParseSvg(text);
  ASSERT_EQ(svg.error, "");
  EXPECT_EQ(svg.OfClass("point")[0].Attribute("data-series"), "H c0 <#1> & \"q\"");
  EXPECT_EQ(EscapeXml("<&>\"'"), "&lt;&amp;&gt;&quot;&#39;");
}

TEST(SvgChartTest, StackedBarsMapBaseAndTop) {
  Chart chart;
  chart.y_axis.min = 0.0;
  chart.bars.push_back({"low", "#00ff00", {{0.0, 0.5, 0.0, 3.0}, {0.5, 1.0, 0.0, 1.0}}});
  chart.bars.push_back({"high", "#ff0000", {{0.0, 0.5, 3.0, 2.0}}});
  const SvgDocument svg = ParseSvg(RenderSvg({chart}));
  ASSERT_EQ(svg.error, "");
  const std::vector<SvgElement> bars = svg.OfClass("bar");
  ASSERT_EQ(bars.size(), 3u);
  // Pixel y of a value v is p(v) = a + b v; recover a, b from the first bar (0 -> 3).
  const double bottom0 = bars[0].Number("y") + bars[0].Number("height");
  const double top0 = bars[0].Number("y");
  const double per_unit = (bottom0 - top0) / 3.0;
  auto pixel = [&](double value) { return bottom0 - per_unit * value; };
  EXPECT_NEAR(bars[1].Number("y"), pixel(1.0), 1e-3);
  EXPECT_NEAR(bars[2].Number("y"), pixel(5.0), 1e-3);
  EXPECT_NEAR(bars[2].Number("y") + bars[2].Number("height"), pixel(3.0), 1e-3);
  EXPECT_EQ(bars[2].Number("data-y0"), 3.0);
  EXPECT_EQ(bars[2].Number("data-y"), 2.0);
  EXPECT_EQ(bars[1].Number("data-x"), 0.75);
  // x: bar 1 starts where bar 0 ends.
  EXPECT_NEAR(bars[0].Number("x") + bars[0].Number("width"), bars[1].Number("x"), 1e-3);
}

TEST(SvgChartTest, GridOfChartsTranslatesEachChart) {
  Chart chart;
  chart.lines.push_back({"s", "#000000", {{0, 1}, {1, 2}}});
  const SvgDocument svg = ParseSvg(RenderSvg({chart, chart, chart}, /*columns=*/2));
  ASSERT_EQ(svg.error, "");
  ASSERT_EQ(svg.charts.size(), 3u);
  EXPECT_EQ(svg.charts[0].Attribute("transform"), "translate(0,0)");
  EXPECT_NE(svg.charts[1].Attribute("transform"), "translate(0,0)");
  EXPECT_THAT(svg.charts[2].Attribute("transform"), ::testing::StartsWith("translate(0,"));
  EXPECT_EQ(svg.OfClass("point", 2).size(), 2u);
  EXPECT_EQ(svg.elements[0].tag, "svg");
  EXPECT_EQ(svg.elements[0].Attribute("xmlns"), "http://www.w3.org/2000/svg");
}

TEST(SvgChartTest, ExactNumberRoundTrips) {
  for (double value : {1.0 / 3.0, 0.1, 1e-300, 123456789.123456789, -2.5e-7}) {
    EXPECT_EQ(std::strtod(ExactNumber(value).c_str(), nullptr), value);
  }
}

}  // namespace
}  // namespace sgdspectra::client::plot
