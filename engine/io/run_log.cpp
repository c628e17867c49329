#include "io/run_log.h"

#include <charconv>
#include <stdexcept>

#include "io/atomic_file.h"

namespace rl {

namespace {

std::string quoteIfNeeded(const std::string& name) {
  const bool plain = name.find_first_of(",\"\r\n") == std::string::npos && !name.empty() &&
                     name.front() != ' ' && name.back() != ' ';
  if (plain) return name;
  std::string q = "\"";
  for (char c : name) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void appendNumber(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, end);
}

}  // namespace

std::string formatCsv(const std::vector<std::string>& header, const std::vector<std::vector<double>>& rows) {
  std::string out;
  for (size_t c = 0; c < header.size(); ++c) {
    if (c) out += ',';
    out += quoteIfNeeded(header[c]);
  }
  out += '\n';
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != header.size())
      throw std::invalid_argument("csv row " + std::to_string(r) + " has " + std::to_string(rows[r].size()) +
                                  " values, the header has " + std::to_string(header.size()));
    for (size_t c = 0; c < rows[r].size(); ++c) {
      if (c) out += ',';
      appendNumber(out, rows[r][c]);
    }
    out += '\n';
  }
  return out;
}

void writeCsvFile(const std::string& path, const std::vector<std::string>& header,
                  const std::vector<std::vector<double>>& rows) {
  writeFileAtomic(path, formatCsv(header, rows));
}

RunLog::RunLog(std::vector<std::string> columns) : columns_(std::move(columns)) {}

void RunLog::add(std::vector<double> row) {
  if (row.size() != columns_.size())
    throw std::invalid_argument("run log row has " + std::to_string(row.size()) + " values, expected " +
                                std::to_string(columns_.size()));
  rows_.push_back(std::move(row));
}

}  // namespace rl
