#pragma once
// CSV reading: a header row, then data rows. Used by the csv dataset, `routelab-cli eval --input`
// and tests that read run logs back. Errors are FileError "file:line: reason".
//
// Accepted: comma separated, optional UTF-8 BOM, LF or CRLF line ends, RFC 4180 quoting ("a,b"
// and "" for a quote), spaces around cells ignored, blank lines skipped. Every row must have as
// many cells as the header; header names must be non-empty and unique.
#include <string>
#include <vector>

namespace rl {

struct CsvText {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  // 1-based line number of each row in the file (for messages)
};

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<double>> rows;
  std::vector<int> lines;
  std::string source;  // the file name used in messages

  // Index of a header name; FileError naming the columns when absent.
  size_t column(const std::string& name) const;
};

// Cells as text. sourceName prefixes messages ("data.csv:3: ...").
CsvText parseCsvText(const std::string& text, const std::string& sourceName);
CsvText readCsvText(const std::string& path);

// Every cell must be a number ("nan" and "inf" included: run logs hold NaN accuracy for regression).
CsvTable parseCsvTable(const std::string& text, const std::string& sourceName);
CsvTable readCsvTable(const std::string& path);

// A decimal number in the C locale, the whole cell (no trailing text). False when it is not one.
bool parseNumber(const std::string& cell, double& value);

}  // namespace rl
