#include "client/plot/svg_chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "client/text_util.h"

namespace sgdspectra::client::plot {
namespace {

// Layout in pixels. The legend's width is estimated from its longest text: SVG has no text
// metrics without a renderer, and an estimate that errs wide only costs white space.
constexpr double kLeftMargin = 74;    // y tick labels and the rotated y-axis label
constexpr double kBottomMargin = 46;  // x tick labels and the x-axis label
constexpr double kTopPadding = 8;
constexpr double kTitleLineHeight = 16;
constexpr double kTitleCharWidth = 7.0;  // 12 px title text
constexpr double kLegendGap = 14;        // between the plot area and the legend
constexpr double kLegendRowHeight = 15;
constexpr double kLegendSwatchWidth = 22;
constexpr double kLegendCharWidth = 6.3;  // 11 px legend text
constexpr double kRightPadding = 10;
constexpr double kMarkerRadius = 2.5;
constexpr double kBandTopRadius = 1.5;
constexpr int kTargetTicks = 5;
constexpr int kMaxLogTicks = 8;
constexpr double kLogPadding = 1.08;  // factor of room beyond the data on an automatic log axis

constexpr std::array<const char*, 10> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                  "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                  "#bcbd22", "#17becf"};

// A pixel coordinate: 4 decimals keep the affine map exact to 1e-4 px, trailing zeros go.
std::string Px(double value) {
  std::string text = StringFormat("%.4f", value);
  const size_t dot = text.find('.');
  if (dot == std::string::npos) return text;
  size_t end = text.find_last_not_of('0');
  if (end == dot) --end;
  text.erase(end + 1);
  if (text == "-0") text = "0";
  return text;
}

bool Drawable(double value, AxisScale scale) {
  return std::isfinite(value) && (scale == AxisScale::kLinear || value > 0);
}

double Transform(double value, AxisScale scale) {
  return scale == AxisScale::kLog10 ? std::log10(value) : value;
}

// 1, 2 or 5 times a power of ten, close to `raw` (> 0).
double NiceStep(double raw) {
  const double exponent = std::floor(std::log10(raw));
  const double unit = std::pow(10.0, exponent);
  const double fraction = raw / unit;
  const double nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * unit;
}

struct Extent {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void Add(double value) {
    lo = std::min(lo, value);
    hi = std::max(hi, value);
  }
  bool empty() const { return lo > hi; }
};

struct Tick {
  double value;
  std::string label;
};

// One axis of one chart: its range (in transformed units: log10 of the data on a log axis), its
// pixel span and ticks. Pixel() is the affine map the header promises.
class AxisMap {
 public:
  AxisMap() = default;
  AxisMap(const Axis& axis, const Extent& data, double pixel_lo, double pixel_hi)
      : scale_(axis.scale), pixel_lo_(pixel_lo), pixel_hi_(pixel_hi) {
    if (scale_ == AxisScale::kLog10) {
      SetLogRange(axis, data);
    } else {
      SetLinearRange(axis, data);
    }
  }

  double Pixel(double value) const {
    return pixel_lo_ + (Transform(value, scale_) - lo_) / (hi_ - lo_) * (pixel_hi_ - pixel_lo_);
  }
  // Inside the range, with a little slack for rounding at its ends.
  bool Contains(double value) const {
    if (!Drawable(value, scale_)) return false;
    const double t = Transform(value, scale_);
    const double slack = 1e-9 * (hi_ - lo_);
    return t >= lo_ - slack && t <= hi_ + slack;
  }
  double floor_pixel() const { return pixel_lo_; }
  const std::vector<Tick>& ticks() const { return ticks_; }
  AxisScale scale() const { return scale_; }

 private:
  void SetLinearRange(const Axis& axis, const Extent& data) {
    double lo = axis.min.value_or(data.empty() ? 0.0 : data.lo);
    double hi = axis.max.value_or(data.empty() ? 1.0 : data.hi);
    if (hi < lo) std::swap(lo, hi);
    if (hi == lo) {
      const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
      if (!axis.min) lo -= pad;
      if (!axis.max) hi += pad;
      if (hi == lo) hi = lo + 1;
    }
    double step = NiceStep((hi - lo) / kTargetTicks);
    if (axis.integer_ticks) step = std::max(1.0, std::round(step));
    if (!axis.min) lo = std::floor(lo / step + 1e-9) * step;
    if (!axis.max) hi = std::ceil(hi / step - 1e-9) * step;
    lo_ = lo;
    hi_ = hi;
    const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    const bool scientific = std::max(std::abs(lo), std::abs(hi)) >= 1e6 || step < 1e-4;
    const double first = std::ceil(lo / step - 1e-9);
    for (int i = 0;; ++i) {
      double value = (first + i) * step;
      if (value > hi + 1e-9 * step) break;
      if (std::abs(value) < 1e-12 * step) value = 0;
      ticks_.push_back({value, scientific ? StringFormat("%.3g", value)
                                          : StringFormat("%.*f", decimals, value)});
    }
  }

  void SetLogRange(const Axis& axis, const Extent& data) {
    double lo = axis.min.value_or(data.empty() ? 1.0 : data.lo);
    double hi = axis.max.value_or(data.empty() ? 10.0 : data.hi);
    if (hi < lo) std::swap(lo, hi);
    // A little room beyond the data, so that no marker sits on the frame.
    double e_lo = std::log10(axis.min ? lo : NiceLogBelow(lo / kLogPadding));
    double e_hi = std::log10(axis.max ? hi : NiceLogAbove(hi * kLogPadding));
    if (e_hi <= e_lo) {
      if (!axis.max) {
        e_hi = e_lo + 1;
      } else {
        e_lo = e_hi - 1;
      }
    }
    lo_ = e_lo;
    hi_ = e_hi;
    // Decades only on a long axis (every n-th when there are many); 1-2-5 on a medium one;
    // every integer mantissa on one shorter than a decade.
    const double span = e_hi - e_lo;
    const int every = std::max(1, static_cast<int>(std::ceil(span / kMaxLogTicks)));
    std::vector<double> mantissas = {1.0};
    if (span < 1) {
      mantissas = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    } else if (span <= 2.5) {
      mantissas = {1, 2, 5};
    }
    for (int decade = static_cast<int>(std::floor(e_lo)); decade <= static_cast<int>(e_hi);
         ++decade) {
      for (double mantissa : mantissas) {
        if (mantissa == 1.0 && decade % every != 0) continue;
        const double exponent = decade + std::log10(mantissa);
        if (exponent < e_lo - 1e-9 || exponent > e_hi + 1e-9) continue;
        const double value = mantissa * std::pow(10.0, decade);
        ticks_.push_back({value, StringFormat("%g", value)});
      }
    }
  }

  // The largest 1, 2 or 5 x 10^n <= value (> 0), and the smallest >= value.
  static double NiceLogBelow(double value) {
    const double unit = std::pow(10.0, std::floor(std::log10(value)));
    const double mantissa = value / unit * (1 + 1e-12);
    return (mantissa >= 5 ? 5 : mantissa >= 2 ? 2 : 1) * unit;
  }
  static double NiceLogAbove(double value) {
    const double unit = std::pow(10.0, std::floor(std::log10(value)));
    const double mantissa = value / unit * (1 - 1e-12);
    return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * unit;
  }

  AxisScale scale_ = AxisScale::kLinear;
  double lo_ = 0;
  double hi_ = 1;
  double pixel_lo_ = 0;
  double pixel_hi_ = 1;
  std::vector<Tick> ticks_;
};

enum class SwatchKind { kLine, kBand, kBar, kVerticalLine };

struct LegendEntry {
  std::string name;
  std::string color;
  SwatchKind kind;
  bool dashed = false;
  bool hollow = false;
};

// Where everything of one chart goes, in pixels relative to the chart's top-left corner.
struct ChartLayout {
  double plot_left = kLeftMargin;
  double plot_top = 0;
  double plot_right = 0;
  double plot_bottom = 0;
  double width = 0;
  double height = 0;
  std::vector<LegendEntry> legend;
  AxisMap x;
  AxisMap y;
};

std::vector<LegendEntry> LegendOf(const Chart& chart) {
  std::vector<LegendEntry> legend;
  for (const BandSeries& band : chart.bands) {
    legend.push_back({band.name, band.color, SwatchKind::kBand});
  }
  for (const BarSeries& bars : chart.bars) {
    legend.push_back({bars.name, bars.color, SwatchKind::kBar});
  }
  std::set<std::string> line_names;
  for (const VerticalLine& line : chart.vertical_lines) {
    if (!line_names.insert(line.name).second) continue;
    legend.push_back({line.name, line.color, SwatchKind::kVerticalLine, line.dashed});
  }
  for (const LineSeries& series : chart.lines) {
    legend.push_back(
        {series.name, series.color, SwatchKind::kLine, series.dashed, series.hollow_markers});
  }
  legend.erase(std::remove_if(legend.begin(), legend.end(),
                              [](const LegendEntry& entry) { return entry.name.empty(); }),
               legend.end());
  return legend;
}

ChartLayout LayoutChart(const Chart& chart) {
  ChartLayout layout;
  layout.legend = LegendOf(chart);
  layout.plot_top = kTopPadding + kTitleLineHeight * chart.title_lines.size() + 8;
  layout.plot_right = layout.plot_left + chart.plot_width;
  layout.plot_bottom = layout.plot_top + chart.plot_height;

  size_t longest_legend = 0;
  for (const LegendEntry& entry : layout.legend) {
    longest_legend = std::max(longest_legend, entry.name.size());
  }
  const double legend_width = layout.legend.empty() ? 0
                                                    : kLegendGap + kLegendSwatchWidth + 6 +
                                                          kLegendCharWidth * longest_legend;
  layout.width = layout.plot_right + legend_width + kRightPadding;
  for (const std::string& line : chart.title_lines) {
    layout.width = std::max(layout.width, 20 + kTitleCharWidth * line.size());
  }
  layout.height = std::max(layout.plot_bottom + kBottomMargin,
                           layout.plot_top + kLegendRowHeight * layout.legend.size() + 8);

  Extent x_data;
  Extent y_data;
  const Axis& x_axis = chart.x_axis;
  const Axis& y_axis = chart.y_axis;
  auto add_x = [&](double value) {
    if (Drawable(value, x_axis.scale)) x_data.Add(value);
  };
  auto add_y = [&](double value) {
    if (Drawable(value, y_axis.scale)) y_data.Add(value);
  };
  for (const LineSeries& series : chart.lines) {
    for (const DataPoint& point : series.points) {
      if (!Drawable(point.x, x_axis.scale) || !Drawable(point.y, y_axis.scale)) continue;
      x_data.Add(point.x);
      y_data.Add(point.y);
    }
  }
  for (const BandSeries& band : chart.bands) {
    for (const DataPoint& point : band.upper) {
      if (!Drawable(point.x, x_axis.scale) || !Drawable(point.y, y_axis.scale)) continue;
      x_data.Add(point.x);
      y_data.Add(point.y);
    }
  }
  for (const BarSeries& series : chart.bars) {
    for (const Bar& bar : series.bars) {
      add_x(bar.x0);
      add_x(bar.x1);
      add_y(bar.base);
      add_y(bar.base + bar.value);
    }
  }
  for (const VerticalLine& line : chart.vertical_lines) add_x(line.x);

  layout.x = AxisMap(x_axis, x_data, layout.plot_left, layout.plot_right);
  layout.y = AxisMap(y_axis, y_data, layout.plot_bottom, layout.plot_top);
  return layout;
}

class ChartWriter {
 public:
  ChartWriter(const Chart& chart, const ChartLayout& layout, std::string* out)
      : chart_(chart), layout_(layout), out_(out) {}

  void Write(double left, double top) {
    *out_ += "<g class=\"chart\" data-title=\"" + EscapeXml(JoinedTitle()) + "\" data-x-scale=\"" +
             ScaleName(chart_.x_axis.scale) + "\" data-y-scale=\"" +
             ScaleName(chart_.y_axis.scale) + "\" transform=\"translate(" + Px(left) + "," +
             Px(top) + ")\">\n";
    WriteGrid();
    for (const BandSeries& band : chart_.bands) WriteBand(band);
    for (const BarSeries& bars : chart_.bars) WriteBars(bars);
    for (const VerticalLine& line : chart_.vertical_lines) WriteVerticalLine(line);
    for (const LineSeries& series : chart_.lines) WriteLine(series);
    WriteAxes();
    WriteTitle();
    WriteLegend();
    *out_ += "</g>\n";
  }

 private:
  static const char* ScaleName(AxisScale scale) {
    return scale == AxisScale::kLog10 ? "log10" : "linear";
  }

  std::string JoinedTitle() const {
    std::string title;
    for (const std::string& line : chart_.title_lines) {
      if (!title.empty()) title += " | ";
      title += line;
    }
    return title;
  }

  bool Inside(const DataPoint& point) const {
    return layout_.x.Contains(point.x) && layout_.y.Contains(point.y);
  }

  void WriteGrid() {
    *out_ += "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n";
    for (const Tick& tick : layout_.x.ticks()) {
      const std::string x = Px(layout_.x.Pixel(tick.value));
      *out_ += "<line x1=\"" + x + "\" y1=\"" + Px(layout_.plot_top) + "\" x2=\"" + x + "\" y2=\"" +
               Px(layout_.plot_bottom) + "\"/>\n";
    }
    for (const Tick& tick : layout_.y.ticks()) {
      const std::string y = Px(layout_.y.Pixel(tick.value));
      *out_ += "<line x1=\"" + Px(layout_.plot_left) + "\" y1=\"" + y + "\" x2=\"" +
               Px(layout_.plot_right) + "\" y2=\"" + y + "\"/>\n";
    }
    *out_ += "</g>\n";
  }

  void WriteBand(const BandSeries& band) {
    std::vector<DataPoint> upper;
    for (const DataPoint& point : band.upper) {
      if (Inside(point)) upper.push_back(point);
    }
    const std::string name = EscapeXml(band.name);
    *out_ += "<g class=\"band\" data-series=\"" + name + "\">\n";
    if (!upper.empty()) {
      const std::string floor = Px(layout_.y.floor_pixel());
      std::string area = "M" + Px(layout_.x.Pixel(upper.front().x)) + "," + floor;
      std::string top;
      for (const DataPoint& point : upper) {
        const std::string xy = Px(layout_.x.Pixel(point.x)) + "," + Px(layout_.y.Pixel(point.y));
        area += " L" + xy;
        top += (top.empty() ? "M" : " L") + xy;
      }
      area += " L" + Px(layout_.x.Pixel(upper.back().x)) + "," + floor + " Z";
      *out_ += "<path class=\"band-area\" d=\"" + area + "\" fill=\"" + band.color +
               "\" fill-opacity=\"" + Px(band.opacity) + "\" stroke=\"none\"/>\n";
      *out_ += "<path class=\"band-line\" d=\"" + top + "\" fill=\"none\" stroke=\"" + band.color +
               "\" stroke-width=\"1\"/>\n";
      for (const DataPoint& point : upper) {
        *out_ += "<circle class=\"band-top\" data-series=\"" + name + "\" data-x=\"" +
                 ExactNumber(point.x) + "\" data-y=\"" + ExactNumber(point.y) + "\" cx=\"" +
                 Px(layout_.x.Pixel(point.x)) + "\" cy=\"" + Px(layout_.y.Pixel(point.y)) +
                 "\" r=\"" + Px(kBandTopRadius) + "\" fill=\"" + band.color + "\"/>\n";
      }
    }
    *out_ += "</g>\n";
  }

  void WriteBars(const BarSeries& series) {
    const std::string name = EscapeXml(series.name);
    *out_ += "<g class=\"series\" data-series=\"" + name + "\">\n";
    for (const Bar& bar : series.bars) {
      const double top_value = bar.base + bar.value;
      if (!layout_.x.Contains(bar.x0) || !layout_.x.Contains(bar.x1) ||
          !layout_.y.Contains(top_value)) {
        continue;
      }
      // On a log axis a base of 0 (a histogram) starts at the floor.
      const double base_pixel =
          layout_.y.Contains(bar.base) ? layout_.y.Pixel(bar.base) : layout_.y.floor_pixel();
      const double top_pixel = layout_.y.Pixel(top_value);
      const double x0 = layout_.x.Pixel(bar.x0);
      const double x1 = layout_.x.Pixel(bar.x1);
      const double centre = layout_.x.scale() == AxisScale::kLog10 ? std::sqrt(bar.x0 * bar.x1)
                                                                   : 0.5 * (bar.x0 + bar.x1);
      *out_ += "<rect class=\"bar\" data-series=\"" + name + "\" data-x=\"" + ExactNumber(centre) +
               "\" data-x0=\"" + ExactNumber(bar.x0) + "\" data-x1=\"" + ExactNumber(bar.x1) +
               "\" data-y=\"" + ExactNumber(bar.value) + "\" data-y0=\"" + ExactNumber(bar.base) +
               "\" x=\"" + Px(std::min(x0, x1)) + "\" y=\"" + Px(std::min(base_pixel, top_pixel)) +
               "\" width=\"" + Px(std::abs(x1 - x0)) + "\" height=\"" +
               Px(std::abs(top_pixel - base_pixel)) + "\" fill=\"" + series.color +
               "\" stroke=\"#ffffff\" stroke-width=\"0.5\"/>\n";
    }
    *out_ += "</g>\n";
  }

  void WriteVerticalLine(const VerticalLine& line) {
    if (!layout_.x.Contains(line.x)) return;
    const std::string x = Px(layout_.x.Pixel(line.x));
    *out_ += "<line class=\"vline\" data-series=\"" + EscapeXml(line.name) + "\" data-x=\"" +
             ExactNumber(line.x) + "\" x1=\"" + x + "\" y1=\"" + Px(layout_.plot_top) + "\" x2=\"" +
             x + "\" y2=\"" + Px(layout_.plot_bottom) + "\" stroke=\"" + line.color +
             "\" stroke-width=\"1.5\"" + (line.dashed ? " stroke-dasharray=\"5,3\"" : "") + "/>\n";
  }

  void WriteLine(const LineSeries& series) {
    const std::string name = EscapeXml(series.name);
    *out_ += "<g class=\"series\" data-series=\"" + name + "\">\n";
    if (series.draw_line) {
      std::string path;
      bool pen_down = false;
      for (const DataPoint& point : series.points) {
        if (!Inside(point)) {
          pen_down = false;  // a gap, not a line across the missing point
          continue;
        }
        path += (path.empty() ? "" : " ") + std::string(pen_down ? "L" : "M") +
                Px(layout_.x.Pixel(point.x)) + "," + Px(layout_.y.Pixel(point.y));
        pen_down = true;
      }
      if (!path.empty()) {
        *out_ += "<path class=\"line\" d=\"" + path + "\" fill=\"none\" stroke=\"" + series.color +
                 "\" stroke-width=\"" + Px(series.line_width) + "\"" +
                 (series.dashed ? " stroke-dasharray=\"6,3\"" : "") + "/>\n";
      }
    }
    const std::string fill = series.hollow_markers ? "#ffffff" : series.color;
    for (const DataPoint& point : series.points) {
      if (!Inside(point)) continue;
      *out_ += "<circle class=\"point\" data-series=\"" + name + "\" data-x=\"" +
               ExactNumber(point.x) + "\" data-y=\"" + ExactNumber(point.y) + "\" cx=\"" +
               Px(layout_.x.Pixel(point.x)) + "\" cy=\"" + Px(layout_.y.Pixel(point.y)) +
               "\" r=\"" + Px(kMarkerRadius) + "\" fill=\"" + fill + "\" stroke=\"" + series.color +
               "\" stroke-width=\"1\"/>\n";
    }
    *out_ += "</g>\n";
  }

  void WriteAxes() {
    const double left = layout_.plot_left;
    const double right = layout_.plot_right;
    const double top = layout_.plot_top;
    const double bottom = layout_.plot_bottom;
    *out_ += "<rect class=\"frame\" x=\"" + Px(left) + "\" y=\"" + Px(top) + "\" width=\"" +
             Px(right - left) + "\" height=\"" + Px(bottom - top) +
             "\" fill=\"none\" stroke=\"#444444\" stroke-width=\"1\"/>\n";
    *out_ += "<g class=\"ticks\" fill=\"#222222\">\n";
    for (const Tick& tick : layout_.x.ticks()) {
      const double x = layout_.x.Pixel(tick.value);
      *out_ += "<line x1=\"" + Px(x) + "\" y1=\"" + Px(bottom) + "\" x2=\"" + Px(x) + "\" y2=\"" +
               Px(bottom + 4) + "\" stroke=\"#444444\"/>\n";
      *out_ += "<text class=\"tick-label\" x=\"" + Px(x) + "\" y=\"" + Px(bottom + 16) +
               "\" text-anchor=\"middle\">" + EscapeXml(tick.label) + "</text>\n";
    }
    for (const Tick& tick : layout_.y.ticks()) {
      const double y = layout_.y.Pixel(tick.value);
      *out_ += "<line x1=\"" + Px(left - 4) + "\" y1=\"" + Px(y) + "\" x2=\"" + Px(left) +
               "\" y2=\"" + Px(y) + "\" stroke=\"#444444\"/>\n";
      *out_ += "<text class=\"tick-label\" x=\"" + Px(left - 7) + "\" y=\"" + Px(y + 4) +
               "\" text-anchor=\"end\">" + EscapeXml(tick.label) + "</text>\n";
    }
    *out_ += "</g>\n";
    *out_ += "<text class=\"axis-label\" x=\"" + Px(0.5 * (left + right)) + "\" y=\"" +
             Px(bottom + 36) + "\" text-anchor=\"middle\" font-size=\"12\">" +
             EscapeXml(chart_.x_axis.label) + "</text>\n";
    const double middle = 0.5 * (top + bottom);
    *out_ += "<text class=\"axis-label\" transform=\"translate(16," + Px(middle) +
             ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" +
             EscapeXml(chart_.y_axis.label) + "</text>\n";
  }

  void WriteTitle() {
    double y = kTopPadding + kTitleLineHeight - 3;
    for (size_t i = 0; i < chart_.title_lines.size(); ++i) {
      *out_ += "<text class=\"title\" x=\"10\" y=\"" + Px(y) + "\" font-size=\"12\"" +
               (i == 0 ? " font-weight=\"bold\"" : "") + ">" + EscapeXml(chart_.title_lines[i]) +
               "</text>\n";
      y += kTitleLineHeight;
    }
  }

  void WriteLegend() {
    if (layout_.legend.empty()) return;
    const double x = layout_.plot_right + kLegendGap;
    double y = layout_.plot_top + 4;
    *out_ += "<g class=\"legend\">\n";
    for (const LegendEntry& entry : layout_.legend) {
      const double middle = y + 0.5 * kLegendRowHeight;
      const std::string dash = entry.dashed ? " stroke-dasharray=\"5,3\"" : "";
      switch (entry.kind) {
        case SwatchKind::kLine:
          *out_ += "<line x1=\"" + Px(x) + "\" y1=\"" + Px(middle) + "\" x2=\"" +
                   Px(x + kLegendSwatchWidth) + "\" y2=\"" + Px(middle) + "\" stroke=\"" +
                   entry.color + "\" stroke-width=\"1.5\"" + dash + "/>\n";
          *out_ += "<circle cx=\"" + Px(x + 0.5 * kLegendSwatchWidth) + "\" cy=\"" + Px(middle) +
                   "\" r=\"" + Px(kMarkerRadius) + "\" fill=\"" +
                   (entry.hollow ? std::string("#ffffff") : entry.color) + "\" stroke=\"" +
                   entry.color + "\"/>\n";
          break;
        case SwatchKind::kBand:
        case SwatchKind::kBar:
          *out_ += "<rect x=\"" + Px(x) + "\" y=\"" + Px(middle - 5) + "\" width=\"" +
                   Px(kLegendSwatchWidth) + "\" height=\"10\" fill=\"" + entry.color + "\"" +
                   (entry.kind == SwatchKind::kBand ? " fill-opacity=\"0.5\"" : "") + "/>\n";
          break;
        case SwatchKind::kVerticalLine:
          *out_ += "<line x1=\"" + Px(x + 0.5 * kLegendSwatchWidth) + "\" y1=\"" + Px(middle - 6) +
                   "\" x2=\"" + Px(x + 0.5 * kLegendSwatchWidth) + "\" y2=\"" + Px(middle + 6) +
                   "\" stroke=\"" + entry.color + "\" stroke-width=\"1.5\"" + dash + "/>\n";
          break;
      }
      *out_ += "<text x=\"" + Px(x + kLegendSwatchWidth + 6) + "\" y=\"" + Px(middle + 4) + "\">" +
               EscapeXml(entry.name) + "</text>\n";
      y += kLegendRowHeight;
    }
    *out_ += "</g>\n";
  }

  const Chart& chart_;
  const ChartLayout& layout_;
  std::string* out_;
};

}  // namespace

std::string RenderSvg(const std::vector<Chart>& charts, int columns) {
  columns = std::max(1, std::min<int>(columns, std::max<size_t>(1, charts.size())));
  std::vector<ChartLayout> layouts;
  layouts.reserve(charts.size());
  double cell_width = 0;
  for (const Chart& chart : charts) {
    layouts.push_back(LayoutChart(chart));
    cell_width = std::max(cell_width, layouts.back().width);
  }
  const size_t rows = (charts.size() + columns - 1) / columns;
  std::vector<double> row_top(rows + 1, 0);
  for (size_t row = 0; row < rows; ++row) {
    double row_height = 0;
    for (size_t i = row * columns; i < std::min(charts.size(), (row + 1) * columns); ++i) {
      row_height = std::max(row_height, layouts[i].height);
    }
    row_top[row + 1] = row_top[row] + row_height;
  }
  const double width = charts.empty() ? 100 : std::ceil(cell_width * columns);
  const double height = charts.empty() ? 40 : std::ceil(row_top[rows]);

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Px(width) +
                    "\" height=\"" + Px(height) + "\" viewBox=\"0 0 " + Px(width) + " " +
                    Px(height) +
                    "\" font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\" "
                    "font-size=\"11\">\n";
  svg += "<rect class=\"background\" width=\"" + Px(width) + "\" height=\"" + Px(height) +
         "\" fill=\"#ffffff\"/>\n";
  for (size_t i = 0; i < charts.size(); ++i) {
    ChartWriter(charts[i], layouts[i], &svg)
        .Write(cell_width * (i % columns), row_top[i / columns]);
  }
  svg += "</svg>\n";
  return svg;
}

std::string EscapeXml(const std::string& text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string ExactNumber(double value) { return StringFormat("%.17g", value); }

std::string PaletteColor(int index) {
  const int size = static_cast<int>(kPalette.size());
  return kPalette[((index % size) + size) % size];
}

}  // namespace sgdspectra::client::plot
