// CsvTable: a small reader for the CSV files `sgdspectra sweep` writes (summary.csv,
// aggregates.csv): a header line, then rows; RFC 4180 quoting ("a,b", "say ""hi""", line
// breaks inside quotes); LF or CRLF line ends; a blank last line is ignored.
//
// Thread-safety: plain values and functions.
#ifndef SGDSPECTRA_CLIENT_PLOT_CSV_TABLE_H_
#define SGDSPECTRA_CLIENT_PLOT_CSV_TABLE_H_

#include <google/protobuf/util/json_util.h>

#include <string>
#include <vector>

namespace sgdspectra::client::plot {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each has header.size() cells

  // The index of the column named `name`, or -1.
  int ColumnIndex(const std::string& name) const;
};

// Parses `text`; `name` (a file path) prefixes error messages, "NAME:LINE: ...". An error if
// the text is empty, a quote is not closed, or a row's cell count differs from the header's.
google::protobuf::util::Status ParseCsv(const std::string& text, const std::string& name,
                                        CsvTable* table);

// ParseCsv over the file at `path`.
google::protobuf::util::Status ReadCsvFile(const std::string& path, CsvTable* table);

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_CSV_TABLE_H_
