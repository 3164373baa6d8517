// HtmlReport: the one self-contained report.html of `sgdspectra plot`: a heading, the
// parameters, optional tables and notes, and every figure with its SVG inlined. No external
// resource (no stylesheet, font, image or script), so the file can be mailed or archived alone
// and renders in any browser without JavaScript.
//
// Thread-safety: plain functions.
#ifndef SGDSPECTRA_CLIENT_PLOT_HTML_REPORT_H_
#define SGDSPECTRA_CLIENT_PLOT_HTML_REPORT_H_

#include <string>
#include <utility>
#include <vector>

#include "client/plot/figure.h"

namespace sgdspectra::client::plot {

struct HtmlTable {
  std::string caption;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

struct ReportPage {
  std::string title;                                            // <title> and <h1>
  std::vector<std::pair<std::string, std::string>> parameters;  // a name / value table
  std::vector<HtmlTable> tables;
  std::vector<std::string> notes;
  std::string details_summary;  // non-empty: a collapsed <details> block with...
  std::string details_text;     // ...this preformatted text (e.g. the resolved spec JSON)
  std::vector<Figure> figures;  // grouped under their section headings, in first-seen order
};

// The page as HTML5; every text is escaped. Figures are inlined as given (they must be <svg>
// elements without an XML declaration).
std::string RenderReportHtml(const ReportPage& page);

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_HTML_REPORT_H_
