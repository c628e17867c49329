#pragma once
// Metrics logs as CSV: one header row of column names, one row of numbers per record. Numbers
// are written in the shortest form that reads back to the same double ("nan"/"inf" included);
// the whole file is written atomically. Read logs back with readCsvTable (io/csv_table.h).
#include <string>
#include <vector>

namespace rl {

// The CSV text; names with commas, quotes or spaces at the ends are quoted. Throws
// std::invalid_argument when a row's length differs from the header's.
std::string formatCsv(const std::vector<std::string>& header, const std::vector<std::vector<double>>& rows);
void writeCsvFile(const std::string& path, const std::vector<std::string>& header,
                  const std::vector<std::vector<double>>& rows);

// Rows collected during a run and saved in one go.
class RunLog {
 public:
  explicit RunLog(std::vector<std::string> columns);
  void add(std::vector<double> row);  // std::invalid_argument when the length is wrong
  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<std::vector<double>>& rows() const { return rows_; }
  void save(const std::string& path) const { writeCsvFile(path, columns_, rows_); }

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<double>> rows_;
};

}  // namespace rl
