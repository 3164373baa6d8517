#include "client/plot/html_report.h"

#include <algorithm>

#include "client/plot/svg_chart.h"

namespace sgdspectra::client::plot {
namespace {

// Inline so that the report stays one file; SVGs shrink to the window but never grow.
constexpr char kStyle[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px;color:#222;"
    "background:#fff;}\n"
    "h1{font-size:22px;margin:0 0 12px 0;}\n"
    "h2{font-size:17px;margin:28px 0 8px 0;border-bottom:1px solid #ccc;}\n"
    "table{border-collapse:collapse;margin:8px 0 16px 0;font-size:13px;}\n"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top;}\n"
    "th{background:#f2f2f2;}\n"
    ".figures{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:flex-start;}\n"
    "figure{margin:0 0 18px 0;max-width:100%;}\n"
    "figure svg{display:block;max-width:100%;height:auto;}\n"
    // A caption as wide as its figure's SVG, never wider: width 0 + min-width 100%.
    "figcaption{font-size:13px;color:#444;width:0;min-width:100%;}\n"
    ".note{font-size:13px;color:#7a4b00;}\n"
    "pre{font-size:12px;background:#f6f6f6;padding:8px;overflow:auto;}\n";

void AppendTable(const HtmlTable& table, std::string* html) {
  *html += "<table>\n";
  if (!table.caption.empty()) *html += "<caption>" + EscapeXml(table.caption) + "</caption>\n";
  if (!table.header.empty()) {
    *html += "<tr>";
    for (const std::string& cell : table.header) *html += "<th>" + EscapeXml(cell) + "</th>";
    *html += "</tr>\n";
  }
  for (const std::vector<std::string>& row : table.rows) {
    *html += "<tr>";
    for (const std::string& cell : row) *html += "<td>" + EscapeXml(cell) + "</td>";
    *html += "</tr>\n";
  }
  *html += "</table>\n";
}

}  // namespace

std::string RenderReportHtml(const ReportPage& page) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
      EscapeXml(page.title) + "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n";
  html += "<h1>" + EscapeXml(page.title) + "</h1>\n";
  if (!page.parameters.empty()) {
    html += "<table class=\"parameters\">\n";
    for (const auto& [name, value] : page.parameters) {
      html += "<tr><th>" + EscapeXml(name) + "</th><td>" + EscapeXml(value) + "</td></tr>\n";
    }
    html += "</table>\n";
  }
  for (const HtmlTable& table : page.tables) AppendTable(table, &html);
  for (const std::string& note : page.notes) {
    html += "<p class=\"note\">" + EscapeXml(note) + "</p>\n";
  }
  if (!page.details_summary.empty()) {
    html += "<details><summary>" + EscapeXml(page.details_summary) + "</summary>\n<pre>" +
            EscapeXml(page.details_text) + "</pre>\n</details>\n";
  }

  std::vector<std::string> sections;
  for (const Figure& figure : page.figures) {
    if (std::find(sections.begin(), sections.end(), figure.section) == sections.end()) {
      sections.push_back(figure.section);
    }
  }
  for (const std::string& section : sections) {
    html += "<h2>" + EscapeXml(section) + "</h2>\n<div class=\"figures\">\n";
    for (const Figure& figure : page.figures) {
      if (figure.section != section) continue;
      html += "<figure id=\"" + EscapeXml(figure.name) + "\">\n" + figure.svg + "<figcaption>" +
              EscapeXml(figure.name) + ".svg: " + EscapeXml(figure.caption) +
              "</figcaption>\n</figure>\n";
    }
    html += "</div>\n";
  }
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace sgdspectra::client::plot
