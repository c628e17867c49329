#include "io/csv_table.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "io/atomic_file.h"
#include "io/file_error.h"

namespace rl {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Splits text into records of cells. A quoted cell may contain commas, quotes ("") and newlines,
// so records are found by the same scan as cells; each record remembers its first line.
struct Record {
  std::vector<std::string> cells;
  int line = 0;
  bool quotedCell = false;  // a quoted cell, even "", makes a line non-blank
};

std::vector<Record> splitRecords(const std::string& text, const std::string& source) {
  std::vector<Record> records;
  size_t i = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;  // UTF-8 byte order mark
  int line = 1;
  Record rec;
  rec.line = line;
  std::string cell;
  bool quoted = false;       // inside quotes
  bool wasQuoted = false;    // this cell had quotes: keep its spaces
  auto endCell = [&]() {
    rec.cells.push_back(wasQuoted ? cell : trim(cell));
    rec.quotedCell |= wasQuoted;
    cell.clear();
    wasQuoted = false;
  };
  auto endRecord = [&]() {
    endCell();
    const bool blank = rec.cells.size() == 1 && rec.cells[0].empty() && !rec.quotedCell;
    if (!blank) records.push_back(std::move(rec));
    rec = Record{};
    rec.line = line;
  };
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
      continue;
    }
    if (c == '"') {
      if (!trim(cell).empty())
        throw FileError(source + ":" + std::to_string(line) + ": a quote inside an unquoted cell");
      cell.clear();
      quoted = wasQuoted = true;
    } else if (c == ',') {
      endCell();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      endRecord();
    } else {
      if (wasQuoted && c != ' ' && c != '\t')
        throw FileError(source + ":" + std::to_string(line) + ": text after a closing quote");
      if (!wasQuoted) cell += c;
    }
  }
  if (quoted) throw FileError(source + ":" + std::to_string(rec.line) + ": a quoted cell is never closed");
  endRecord();
  return records;
}

}  // namespace

bool parseNumber(const std::string& cell, double& value) {
  if (cell.empty()) return false;
  const char* b = cell.data();
  const char* e = b + cell.size();
  if (*b == '+') ++b;  // from_chars rejects a leading '+', people write it
  auto [end, ec] = std::from_chars(b, e, value);
  return ec == std::errc() && end == e;
}

CsvText parseCsvText(const std::string& text, const std::string& sourceName) {
  auto records = splitRecords(text, sourceName);
  if (records.empty()) throw FileError(sourceName + ":1: empty file (a header row is required)");
  CsvText t;
  t.header = records[0].cells;
  double ignored = 0;
  if (std::all_of(t.header.begin(), t.header.end(), [&](const std::string& c) { return parseNumber(c, ignored); }))
    throw FileError(sourceName + ":" + std::to_string(records[0].line) +
                    ": the first row holds numbers, not column names (a header row is required)");
  std::set<std::string> seen;
  for (size_t c = 0; c < t.header.size(); ++c) {
    const std::string at = sourceName + ":" + std::to_string(records[0].line) + ": ";
    if (t.header[c].empty()) throw FileError(at + "header column " + std::to_string(c + 1) + " has no name");
    if (!seen.insert(t.header[c]).second) throw FileError(at + "header names column '" + t.header[c] + "' twice");
  }
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].cells.size() != t.header.size())
      throw FileError(sourceName + ":" + std::to_string(records[r].line) + ": " +
                      std::to_string(records[r].cells.size()) + " cells, the header has " +
                      std::to_string(t.header.size()));
    t.rows.push_back(std::move(records[r].cells));
    t.lines.push_back(records[r].line);
  }
  return t;
}

CsvText readCsvText(const std::string& path) { return parseCsvText(readFileBytes(path), path); }

CsvTable parseCsvTable(const std::string& text, const std::string& sourceName) {
  CsvText t = parseCsvText(text, sourceName);
  CsvTable out;
  out.source = sourceName;
  out.header = std::move(t.header);
  out.lines = std::move(t.lines);
  out.rows.reserve(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<double> row(t.rows[r].size());
    for (size_t c = 0; c < row.size(); ++c)
      if (!parseNumber(t.rows[r][c], row[c]))
        throw FileError(sourceName + ":" + std::to_string(out.lines[r]) + ": column '" + out.header[c] + "': '" +
                        t.rows[r][c] + "' is not a number");
    out.rows.push_back(std::move(row));
  }
  return out;
}

CsvTable readCsvTable(const std::string& path) { return parseCsvTable(readFileBytes(path), path); }

size_t CsvTable::column(const std::string& name) const {
  for (size_t c = 0; c < header.size(); ++c)
    if (header[c] == name) return c;
  std::string names;
  for (const auto& h : header) {
    if (!names.empty()) names += ", ";
    names += h;
  }
  throw FileError(source + ":1: no column named '" + name + "' (columns: " + names + ")");
}

}  // namespace rl
