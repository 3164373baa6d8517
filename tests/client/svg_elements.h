// SvgElements: a minimal reader of the SVG that client/plot/svg_chart.cc writes, for tests:
// every start tag with its attributes (entities decoded), the chart (<g class="chart">) it lies
// in, and a check that tags nest properly. Not a general XML parser: no comments, CDATA or
// processing instructions other than a leading XML declaration.
#ifndef SGDSPECTRA_TESTS_CLIENT_SVG_ELEMENTS_H_
#define SGDSPECTRA_TESTS_CLIENT_SVG_ELEMENTS_H_

#include <map>
#include <string>
#include <vector>

namespace sgdspectra::testing {

struct SvgElement {
  std::string tag;
  std::map<std::string, std::string> attributes;
  int chart = -1;  // index of the enclosing <g class="chart">, -1 outside every chart

  bool Has(const std::string& name) const { return attributes.count(name) > 0; }
  const std::string& Attribute(const std::string& name) const;  // "" when missing
  double Number(const std::string& name) const;  // strtod of the attribute; NaN when missing
  bool HasClass(const std::string& name) const { return Attribute("class") == name; }
};

struct SvgDocument {
  std::vector<SvgElement> elements;  // in document order
  std::vector<SvgElement> charts;    // the <g class="chart"> elements, by chart index
  std::string error;                 // empty when the tags nest properly

  // Elements of one class (e.g. "point"), optionally only those of chart `chart`.
  std::vector<SvgElement> OfClass(const std::string& name, int chart = -1) const;
};

SvgDocument ParseSvg(const std::string& text);

// How far the pixels stray from one affine map of the data: fits pixel = a + b * f(data) from
// the two elements with the smallest and largest data (f = log10 when log_scale, else the
// identity) and returns the largest |pixel - (a + b * f(data))| over all elements (NaN when an
// attribute is missing or unparsable). Elements whose data are all equal must share one pixel.
double AffineMapError(const std::vector<SvgElement>& elements, const std::string& data_attribute,
                      const std::string& pixel_attribute, bool log_scale);

}  // namespace sgdspectra::testing

#endif  // SGDSPECTRA_TESTS_CLIENT_SVG_ELEMENTS_H_
