#pragma once
// A selection of rows (or points) as the views keep it: sorted, each once, so that two selections
// compare equal when they hold the same rows and membership is a binary search.
#include <algorithm>
#include <vector>

namespace rl::ui {

inline std::vector<int> sortedUnique(std::vector<int> rows) {
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

}  // namespace rl::ui
