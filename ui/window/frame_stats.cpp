#include "window/frame_stats.h"

#include <algorithm>
#include <cmath>

namespace rl::ui {

FrameStats::FrameStats(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void FrameStats::record(double milliseconds) {
  if (ring_.size() < capacity_) {
    ring_.push_back(milliseconds);
  } else {
    ring_[next_] = milliseconds;
  }
  next_ = (next_ + 1) % capacity_;
  ++total_;
}

void FrameStats::clear() {
  ring_.clear();
  next_ = 0;
  total_ = 0;
}

size_t FrameStats::count() const { return ring_.size(); }
size_t FrameStats::total() const { return total_; }

double FrameStats::median() const { return percentile(50); }

double FrameStats::percentile(double p) const {
  if (ring_.empty()) return 0;
  std::vector<double> sorted = ring_;
  std::sort(sorted.begin(), sorted.end());
  // Nearest rank: the smallest value with at least p% of the frames at or below it.
  const double rank = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * double(sorted.size()));
  const size_t index = rank < 1 ? 0 : size_t(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

double FrameStats::last() const {
  if (ring_.empty()) return 0;
  return ring_[(next_ + capacity_ - 1) % capacity_];
}

}  // namespace rl::ui
