#pragma once
// Paces play: how many steps may run now at a given speed (steps per second, 0 = unlimited), and
// a sliding-window steps/s meter for the status bar.
#include <chrono>
#include <deque>
#include <utility>

namespace rl::ui {

class StepPacer {
 public:
  using Clock = std::chrono::steady_clock;

  void start(int stepsPerSecond, Clock::time_point now) {
    speed_ = stepsPerSecond;
    begin_ = now;
    taken_ = 0;
  }
  // Steps allowed now (a large number when unlimited).
  long allowed(Clock::time_point now) const {
    if (speed_ <= 0) return 1L << 40;
    const double due = std::chrono::duration<double>(now - begin_).count() * speed_;
    return static_cast<long>(due) - taken_ + 1;  // the first step runs at once
  }
  void took(long steps) { taken_ += steps; }
  // Milliseconds until the next step is due (0 when unlimited or already due).
  int msUntilNext(Clock::time_point now) const {
    if (speed_ <= 0) return 0;
    const double dueAt = static_cast<double>(taken_) / speed_;
    const double ms = (dueAt - std::chrono::duration<double>(now - begin_).count()) * 1000.0;
    return ms > 0 ? static_cast<int>(ms + 0.999) : 0;
  }

 private:
  int speed_ = 0;
  Clock::time_point begin_{};
  long taken_ = 0;
};

class RateMeter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateMeter(double windowSeconds = 1.0) : window_(windowSeconds) {}

  void record(Clock::time_point t, int step) {
    samples_.emplace_back(t, step);
    while (samples_.size() > 2 && std::chrono::duration<double>(t - samples_.front().first).count() > window_)
      samples_.pop_front();
  }
  void clear() { samples_.clear(); }
  double stepsPerSecond() const {
    if (samples_.size() < 2) return 0;
    const double dt = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
    return dt > 0 ? (samples_.back().second - samples_.front().second) / dt : 0;
  }

 private:
  double window_;
  std::deque<std::pair<Clock::time_point, int>> samples_;
};

}  // namespace rl::ui
