#pragma once
// Frame times of the display-rate redraw (push a snapshot into the visible views and repaint
// them), kept in a bounded ring so a window left open for hours does not grow.
#include <cstddef>
#include <vector>

namespace rl::ui {

class FrameStats {
 public:
  explicit FrameStats(size_t capacity = 20000);
  void record(double milliseconds);
  void clear();
  size_t count() const;   // frames currently held (at most capacity)
  size_t total() const;   // frames recorded since the last clear
  double median() const;  // 0 when empty
  // The p-th percentile (0..100, nearest rank) of the frames held; 0 when empty.
  double percentile(double p) const;
  double last() const;

 private:
  std::vector<double> ring_;
  size_t capacity_, next_ = 0, total_ = 0;
};

}  // namespace rl::ui
