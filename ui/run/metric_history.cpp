#include "run/metric_history.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "run/thinning.h"

namespace rl::ui {

bool hasEvaluation(const HistoryPoint& p) { return !std::isnan(p.evalLoss); }

MetricHistory::MetricHistory(size_t cap) : cap_(std::max<size_t>(cap, 4)) {}

void MetricHistory::add(HistoryPoint point) {
  if (!points_.empty() && point.step <= points_.back().step)
    throw std::logic_error("MetricHistory: step " + std::to_string(point.step) + " after step " +
                           std::to_string(points_.back().step));
  points_.push_back(std::move(point));
  if (points_.size() > cap_) thin();
}

HistoryPoint* MetricHistory::latest() { return points_.empty() ? nullptr : &points_.back(); }

void MetricHistory::truncateAfter(int step) {
  auto firstLater = std::upper_bound(points_.begin(), points_.end(), step,
                                     [](int s, const HistoryPoint& p) { return s < p.step; });
  points_.erase(firstLater, points_.end());
}

void MetricHistory::assign(std::vector<HistoryPoint> points) {
  points_ = std::move(points);
  if (points_.size() > cap_) thin();
}

void MetricHistory::thin() {
  // The recent quarter stays dense; the rest shrinks to half its room, so the next thinning is at
  // least 3/8 of the cap steps away.
  const size_t recent = cap_ / 4;
  thinUntil(points_, recent + (cap_ - recent) / 2, recent, stride_, [](const HistoryPoint& p) { return p.step; },
            hasEvaluation);
}

}  // namespace rl::ui
