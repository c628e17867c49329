// kind csv: a header row, numeric feature columns (every column but the label column, in file
// order) and the label column. Classification labels are class ids 0..C-1 when every label is a
// number (they must then be whole and >= 0; C = largest id + 1), otherwise names, numbered in order
// of first appearance. Regression labels are the real-valued target. Nothing is standardised.
#include <cmath>
#include <map>

#include "data/generators.h"
#include "io/csv_table.h"
#include "io/file_error.h"

namespace rl {

namespace {

constexpr int kMaxClasses = 4096;

std::string at(const std::string& path, int line) { return path + ":" + std::to_string(line) + ": "; }

// Class ids for the label cells: numeric ids when every cell is a number, else names.
std::vector<int32_t> classLabels(const CsvText& t, size_t labelCol, const std::string& path,
                                 std::vector<std::string>& names) {
  bool allNumbers = true;
  for (const auto& row : t.rows) {
    double v;
    allNumbers = allNumbers && parseNumber(row[labelCol], v);
  }
  std::vector<int32_t> labels;
  if (allNumbers) {
    int maxId = 0;
    for (size_t r = 0; r < t.rows.size(); ++r) {
      double v = 0;
      parseNumber(t.rows[r][labelCol], v);
      if (!(v >= 0) || v != std::floor(v))
        throw FileError(at(path, t.lines[r]) + "label '" + t.rows[r][labelCol] + "' is not a class id (a whole number >= 0)");
      if (v >= kMaxClasses)
        throw FileError(at(path, t.lines[r]) + "class id " + t.rows[r][labelCol] + " exceeds the limit of " +
                        std::to_string(kMaxClasses) + " classes");
      labels.push_back(static_cast<int32_t>(v));
      maxId = std::max(maxId, labels.back());
    }
    for (int c = 0; c <= maxId; ++c) names.push_back(std::to_string(c));
    return labels;
  }
  std::map<std::string, int32_t> ids;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const std::string& name = t.rows[r][labelCol];
    auto [it, added] = ids.emplace(name, static_cast<int32_t>(names.size()));
    if (added) {
      if (names.size() >= size_t(kMaxClasses))
        throw FileError(at(path, t.lines[r]) + "more than " + std::to_string(kMaxClasses) + " distinct labels");
      names.push_back(name);
    }
    labels.push_back(it->second);
  }
  return labels;
}

}  // namespace

Dataset loadCsvDataset(const std::string& path, const std::string& labelColumn, bool regression) {
  const CsvText t = readCsvText(path);
  size_t labelCol = t.header.size();
  for (size_t c = 0; c < t.header.size(); ++c)
    if (t.header[c] == labelColumn) labelCol = c;
  if (labelCol == t.header.size()) {
    std::string cols;
    for (const auto& h : t.header) {
      if (!cols.empty()) cols += ", ";
      cols += h;
    }
    throw FileError(at(path, 1) + "no label column named '" + labelColumn + "' (columns: " + cols + ")");
  }
  if (t.header.size() < 2) throw FileError(at(path, 1) + "needs at least one feature column besides '" + labelColumn + "'");
  if (t.rows.size() < 2)
    throw FileError(at(path, 1) + "needs at least 2 data rows to split into train and test (has " +
                    std::to_string(t.rows.size()) + ")");

  Dataset d;
  d.inputDim = static_cast<int>(t.header.size()) - 1;
  d.x.reserve(t.rows.size() * d.inputDim);
  for (size_t r = 0; r < t.rows.size(); ++r)
    for (size_t c = 0; c < t.header.size(); ++c) {
      if (c == labelCol) continue;
      double v = 0;
      if (!parseNumber(t.rows[r][c], v) || !std::isfinite(v))
        throw FileError(at(path, t.lines[r]) + "column '" + t.header[c] + "': '" + t.rows[r][c] +
                        "' is not a finite number");
      d.x.push_back(static_cast<float>(v));
    }

  if (regression) {
    d.regression = true;
    d.outputDim = 1;
    d.classes = 1;  // no regions: every row has label 0
    for (size_t r = 0; r < t.rows.size(); ++r) {
      double v = 0;
      if (!parseNumber(t.rows[r][labelCol], v) || !std::isfinite(v))
        throw FileError(at(path, t.lines[r]) + "label column '" + labelColumn + "': '" + t.rows[r][labelCol] +
                        "' is not a finite number");
      d.target.push_back(static_cast<float>(v));
      d.label.push_back(0);
    }
    return d;
  }
  d.label = classLabels(t, labelCol, path, d.classNames);
  if (d.classNames.size() < 2)
    throw FileError(at(path, 1) + "label column '" + labelColumn + "' holds a single class ('" + d.classNames[0] +
                    "'); classification needs at least two");
  setOneHotTargets(d, static_cast<int>(d.classNames.size()));
  return d;
}

}  // namespace rl
