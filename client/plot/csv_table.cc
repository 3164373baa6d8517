#include "client/plot/csv_table.h"

#include <fstream>
#include <sstream>

namespace sgdspectra::client::plot {
namespace {

using google::protobuf::util::Status;
using google::protobuf::util::StatusCode;

Status Error(const std::string& name, int line, const std::string& message) {
  return Status(StatusCode::kInvalidArgument, name + ":" + std::to_string(line) + ": " + message);
}

}  // namespace

int CsvTable::ColumnIndex(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

Status ParseCsv(const std::string& text, const std::string& name, CsvTable* table) {
  *table = CsvTable();
  std::vector<std::vector<std::string>> records;
  std::vector<int> record_lines;  // the line each record starts on, for messages
  std::vector<std::string> record;
  std::string cell;
  bool in_quotes = false;
  bool cell_was_quoted = false;
  int line = 1;
  int record_line = 1;
  auto end_cell = [&] {
    record.push_back(cell);
    cell.clear();
    cell_was_quoted = false;
  };
  auto end_record = [&] {
    end_cell();
    // A record that is one empty, unquoted cell is a blank line.
    if (!(record.size() == 1 && record[0].empty())) {
      records.push_back(record);
      record_lines.push_back(record_line);
    }
    record.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (!cell.empty() || cell_was_quoted) {
          return Error(name, line, "a quote inside an unquoted cell");
        }
        in_quotes = true;
        cell_was_quoted = true;
        break;
      case ',':
        end_cell();
        break;
      case '\r':
        break;  // CRLF: the '\n' ends the record
      case '\n':
        end_record();
        ++line;
        record_line = line;
        break;
      default:
        cell += c;
    }
  }
  if (in_quotes) return Error(name, record_line, "a quoted cell is not closed");
  if (!cell.empty() || !record.empty() || cell_was_quoted) end_record();
  if (records.empty()) return Error(name, 1, "empty file, expected a header line");

  table->header = records[0];
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != table->header.size()) {
      return Error(name, record_lines[r],
                   std::to_string(records[r].size()) + " cells, the header has " +
                       std::to_string(table->header.size()));
    }
    table->rows.push_back(std::move(records[r]));
  }
  return Status();
}

Status ReadCsvFile(const std::string& path, CsvTable* table) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status(StatusCode::kNotFound, path + ": cannot open");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) return Status(StatusCode::kDataLoss, path + ": read error");
  return ParseCsv(text.str(), path, table);
}

}  // namespace sgdspectra::client::plot
