#pragma once
// A run's metric history with bounded memory: every step is recorded, and when the history grows
// past its cap everything but the most recent quarter is thinned to one point per bucket of
// `stride` steps (thinning.h), so a run of millions of steps keeps at most `cap` points: every
// step of the recent stretch, and the whole run before it evenly. Points carrying a held-out
// evaluation are preferred when thinning, so the held-out curves span the run too.
#include <cstddef>
#include <vector>

#include "run/run_snapshot.h"

namespace rl::ui {

class MetricHistory {
 public:
  static constexpr size_t kDefaultCap = 4096;
  explicit MetricHistory(size_t cap = kDefaultCap);

  void add(HistoryPoint point);            // steps must increase
  HistoryPoint* latest();                  // null when empty; for attaching an evaluation
  void truncateAfter(int step);            // drops every point later than step
  void clear() {
    points_.clear();
    stride_ = 1;
  }
  void assign(std::vector<HistoryPoint> points);  // e.g. from a project file; thinned to the cap

  const std::vector<HistoryPoint>& points() const { return points_; }
  size_t cap() const { return cap_; }
  long stride() const { return stride_; }  // steps per kept point in the thinned part

 private:
  void thin();

  size_t cap_;
  long stride_ = 1;
  std::vector<HistoryPoint> points_;
};

// True when the point carries a held-out evaluation (its eval fields are not NaN).
bool hasEvaluation(const HistoryPoint& p);

}  // namespace rl::ui
