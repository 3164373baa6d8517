// SvgChart: hand-written SVG charts for `sgdspectra plot`, with no plotting library.
//
// A Chart is plain data: a title, two axes, and what to draw (line series with point markers,
// shaded bands from the axis floor up to a curve, bars, vertical marker lines). RenderSvg()
// lays one or more charts out on a grid and returns one <svg> element; axes get ticks at nice
// numbers (1, 2, 5 x 10^n; decades on a log axis), each chart a legend to the right of its plot
// area.
//
// Every drawn datum is machine-checkable, so tests (and curious users) can read numbers back:
//   <g class="chart" data-x-scale="linear" data-y-scale="log10" transform="translate(L,T)">
//     <g class="series" data-series="H c0 #1">
//       <circle class="point" data-series="H c0 #1" data-x="5" data-y="0.012345678901234567"
//               cx=".." cy=".." r="2.5"/>
//     <g class="band" data-series="bulk edge (null model)">
//       <circle class="band-top" data-x=".." data-y=".." cx=".." cy=".."/>   (the band's top)
//     <rect class="bar" data-series=".." data-x="centre" data-x0=".." data-x1=".."
//           data-y="height" data-y0="base" x=".." y=".." width=".." height=".."/>
//     <line class="vline" data-series=".." data-x=".." x1=".." .../>
// data-* values are printed with %.17g, so they parse back to the same double. Pixel positions
// (relative to the chart's translate) are the chart's affine map of the data: px = a + b * x
// on a linear axis, px = a + b * log10(x) on a log10 axis, one map per chart and axis.
// Points that cannot be drawn (non-finite, <= 0 on a log axis, outside a fixed axis range) are
// left out and break their line.
//
// Thread-safety: plain functions over caller-owned values.
#ifndef SGDSPECTRA_CLIENT_PLOT_SVG_CHART_H_
#define SGDSPECTRA_CLIENT_PLOT_SVG_CHART_H_

#include <optional>
#include <string>
#include <vector>

namespace sgdspectra::client::plot {

enum class AxisScale { kLinear, kLog10 };

struct Axis {
  std::string label;
  AxisScale scale = AxisScale::kLinear;
  // Range ends; unset = from the data, widened to the next nice tick (a whole decade on a log
  // axis).
  std::optional<double> min;
  std::optional<double> max;
  bool integer_ticks = false;  // ticks at integers only (categories such as a rank)
};

struct DataPoint {
  double x = 0;
  double y = 0;
};

// A curve through its points in the given order, with a marker at each point.
struct LineSeries {
  std::string name;   // legend text and data-series
  std::string color;  // CSS colour, e.g. "#1f77b4"
  std::vector<DataPoint> points;
  bool draw_line = true;
  bool dashed = false;
  bool hollow_markers = false;  // white fill, coloured ring
  double line_width = 1.5;
};

// The area between the bottom of the plot (the y-axis floor) and the piecewise-linear curve
// through `upper`, e.g. the bulk of a spectrum below its edge.
struct BandSeries {
  std::string name;
  std::string color;
  std::vector<DataPoint> upper;
  double opacity = 0.35;
};

// One bar covers [x0, x1] horizontally and [base, base + value] vertically (stack bars by
// giving each the top of the one below as its base).
struct Bar {
  double x0 = 0;
  double x1 = 0;
  double base = 0;
  double value = 0;
};

struct BarSeries {
  std::string name;
  std::string color;
  std::vector<Bar> bars;
};

// A vertical line across the plot area at x, e.g. an outlier threshold.
struct VerticalLine {
  std::string name;  // legend text (one legend entry per distinct name)
  std::string color;
  double x = 0;
  bool dashed = true;
};

struct Chart {
  std::vector<std::string> title_lines;  // drawn above the plot, one text line each
  Axis x_axis;
  Axis y_axis;
  std::vector<BandSeries> bands;  // drawn first (under everything else)
  std::vector<BarSeries> bars;
  std::vector<VerticalLine> vertical_lines;
  std::vector<LineSeries> lines;  // drawn last (on top)
  double plot_width = 440;        // pixels of the plot area; margins and legend come on top
  double plot_height = 260;
};

// The charts on a grid of `columns` columns (>= 1), row by row, in one <svg> element (with
// xmlns, width, height and viewBox; no XML declaration, so it can be inlined in HTML). Each
// chart is a <g class="chart">; an empty list gives an empty white SVG.
std::string RenderSvg(const std::vector<Chart>& charts, int columns = 1);

// Text safe inside XML / HTML character data and double- or single-quoted attribute values.
std::string EscapeXml(const std::string& text);

// %.17g: the shortest printf form that always parses back to the same double.
std::string ExactNumber(double value);

// The ten-colour palette the figures use, in order ("#1f77b4", "#ff7f0e", ...); index wraps.
std::string PaletteColor(int index);

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_SVG_CHART_H_
