#include "svg_elements.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace sgdspectra::testing {
namespace {

std::string DecodeEntities(const std::string& text) {
  static const std::map<std::string, char> kEntities = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
  std::string decoded;
  for (size_t i = 0; i < text.size();) {
    bool matched = false;
    if (text[i] == '&') {
      for (const auto& [entity, c] : kEntities) {
        if (text.compare(i, entity.size(), entity) == 0) {
          decoded += c;
          i += entity.size();
          matched = true;
          break;
        }
      }
    }
    if (!matched) decoded += text[i++];
  }
  return decoded;
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
         c == '.';
}

}  // namespace

const std::string& SvgElement::Attribute(const std::string& name) const {
  static const std::string kEmpty;
  const auto found = attributes.find(name);
  return found == attributes.end() ? kEmpty : found->second;
}

double SvgElement::Number(const std::string& name) const {
  if (!Has(name)) return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(Attribute(name).c_str(), nullptr);
}

std::vector<SvgElement> SvgDocument::OfClass(const std::string& name, int chart) const {
  std::vector<SvgElement> result;
  for (const SvgElement& element : elements) {
    if (element.HasClass(name) && (chart < 0 || element.chart == chart)) {
      result.push_back(element);
    }
  }
  return result;
}

double AffineMapError(const std::vector<SvgElement>& elements, const std::string& data_attribute,
                      const std::string& pixel_attribute, bool log_scale) {
  if (elements.empty()) return 0;
  auto data = [&](const SvgElement& element) {
    const double value = element.Number(data_attribute);
    return log_scale ? std::log10(value) : value;
  };
  const auto [lowest, highest] = std::minmax_element(
      elements.begin(), elements.end(),
      [&](const SvgElement& a, const SvgElement& b) { return data(a) < data(b); });
  const double d0 = data(*lowest);
  const double d1 = data(*highest);
  const double p0 = lowest->Number(pixel_attribute);
  const double p1 = highest->Number(pixel_attribute);
  const double slope = d1 == d0 ? 0 : (p1 - p0) / (d1 - d0);
  double worst = 0;
  for (const SvgElement& element : elements) {
    const double predicted = p0 + slope * (data(element) - d0);
    const double error = std::abs(element.Number(pixel_attribute) - predicted);
    if (std::isnan(error)) return error;
    worst = std::max(worst, error);
  }
  return worst;
}

SvgDocument ParseSvg(const std::string& text) {
  SvgDocument document;
  std::vector<std::string> open_tags;
  std::vector<int> open_chart_depth;  // depth of each open chart group
  int current_chart = -1;
  size_t i = 0;
  if (text.compare(0, 5, "<?xml") == 0) i = text.find("?>") + 2;
  while (true) {
    const size_t start = text.find('<', i);
    if (start == std::string::npos) break;
    const size_t end = text.find('>', start);
    if (end == std::string::npos) {
      document.error = "unterminated tag at " + std::to_string(start);
      return document;
    }
    const std::string tag_text = text.substr(start + 1, end - start - 1);
    i = end + 1;
    if (!tag_text.empty() && tag_text[0] == '/') {
      const std::string name = tag_text.substr(1);
      if (open_tags.empty() || open_tags.back() != name) {
        document.error = "</" + name + "> closes <" + (open_tags.empty() ? "" : open_tags.back()) +
                         "> at " + std::to_string(start);
        return document;
      }
      open_tags.pop_back();
      if (!open_chart_depth.empty() &&
          open_chart_depth.back() == static_cast<int>(open_tags.size())) {
        open_chart_depth.pop_back();
        current_chart = -1;
      }
      continue;
    }
    const bool self_closing = !tag_text.empty() && tag_text.back() == '/';
    SvgElement element;
    size_t p = 0;
    while (p < tag_text.size() && IsNameChar(tag_text[p])) element.tag += tag_text[p++];
    while (p < tag_text.size()) {
      while (p < tag_text.size() && std::isspace(static_cast<unsigned char>(tag_text[p]))) ++p;
      std::string name;
      while (p < tag_text.size() && IsNameChar(tag_text[p])) name += tag_text[p++];
      if (name.empty()) break;
      if (p + 1 >= tag_text.size() || tag_text[p] != '=' || tag_text[p + 1] != '"') {
        document.error = "attribute " + name + " of <" + element.tag + "> is not name=\"value\"";
        return document;
      }
      const size_t value_end = tag_text.find('"', p + 2);
      if (value_end == std::string::npos) {
        document.error = "unterminated attribute " + name;
        return document;
      }
      if (element.attributes.count(name) > 0) {
        document.error = "attribute " + name + " repeated in <" + element.tag + ">";
        return document;
      }
      element.attributes[name] = DecodeEntities(tag_text.substr(p + 2, value_end - p - 2));
      p = value_end + 1;
    }
    if (element.tag == "g" && element.HasClass("chart")) {
      current_chart = static_cast<int>(document.charts.size());
      document.charts.push_back(element);
      open_chart_depth.push_back(static_cast<int>(open_tags.size()));
    }
    element.chart = current_chart;
    if (!self_closing) open_tags.push_back(element.tag);
    document.elements.push_back(std::move(element));
  }
  if (!open_tags.empty()) document.error = "<" + open_tags.back() + "> is never closed";
  return document;
}

}  // namespace sgdspectra::testing
