#include "run/metric_history.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rl::ui {

bool hasEvaluation(const HistoryPoint& p) { return !std::isnan(p.evalLoss); }

MetricHistory::MetricHistory(size_t cap) : cap_(std::max<size_t>(cap, 4)) {}

void MetricHistory::add(HistoryPoint point) {
  if (!points_.empty() && point.step <= points_.back().step)
    throw std::logic_error("MetricHistory: step " + std::to_string(point.step) + " after step " +
                           std::to_string(points_.back().step));
  points_.push_back(std::move(point));
  if (points_.size() > cap_) thinOlderHalf();
}

HistoryPoint* MetricHistory::latest() { return points_.empty() ? nullptr : &points_.back(); }

void MetricHistory::truncateAfter(int step) {
  auto firstLater = std::upper_bound(points_.begin(), points_.end(), step,
                                     [](int s, const HistoryPoint& p) { return s < p.step; });
  points_.erase(firstLater, points_.end());
}

void MetricHistory::assign(std::vector<HistoryPoint> points) {
  points_ = std::move(points);
  while (points_.size() > cap_) thinOlderHalf();
}

void MetricHistory::thinOlderHalf() {
  // Pairs (0,1), (2,3), … of the older half keep one point each: the evaluated one if there is
  // one, else the earlier.
  const size_t older = points_.size() / 2 & ~size_t(1);
  size_t out = 0;
  for (size_t i = 0; i < older; i += 2) {
    const bool takeSecond = !hasEvaluation(points_[i]) && hasEvaluation(points_[i + 1]);
    points_[out++] = std::move(points_[takeSecond ? i + 1 : i]);
  }
  for (size_t i = older; i < points_.size(); ++i) points_[out++] = std::move(points_[i]);
  points_.resize(out);
}

}  // namespace rl::ui
