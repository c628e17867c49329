#pragma once
// A run's metric history with bounded memory: every step is recorded, and when the history grows
// past its cap the older half is thinned by two, so a run of millions of steps keeps a few
// thousand points: dense for recent steps, sparser the further back (roughly one point per
// doubling of age). Points carrying a held-out evaluation are preferred when thinning, so the
// held-out curves stay as long as the training ones.
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
  void clear() { points_.clear(); }
  void assign(std::vector<HistoryPoint> points);  // e.g. from a project file; thinned to the cap

  const std::vector<HistoryPoint>& points() const { return points_; }
  size_t cap() const { return cap_; }

 private:
  void thinOlderHalf();

  size_t cap_;
  std::vector<HistoryPoint> points_;
};

// True when the point carries a held-out evaluation (its eval fields are not NaN).
bool hasEvaluation(const HistoryPoint& p);

}  // namespace rl::ui
