// Figure: one rendered figure of a `sgdspectra plot` report: an SVG file's stem, the report
// section it belongs to, and the <svg> element itself.
#ifndef SGDSPECTRA_CLIENT_PLOT_FIGURE_H_
#define SGDSPECTRA_CLIENT_PLOT_FIGURE_H_

#include <string>

namespace sgdspectra::client::plot {

struct Figure {
  std::string name;     // file stem, stable and descriptive: "eigenvalues_H_class0"
  std::string section;  // report heading, e.g. "Top eigenvalues"
  std::string caption;  // one sentence under the figure in the report
  std::string svg;      // from RenderSvg(): an <svg> element without an XML declaration
};

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_FIGURE_H_
