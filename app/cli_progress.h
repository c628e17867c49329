#pragma once
// A one-line progress bar on a terminal; plain lines (every 10%) when stderr is not a terminal.
#include <chrono>
#include <cstdio>
#include <string>

namespace rl {

class ProgressBar {
 public:
  ProgressBar(int total, bool terminal) : total_(total), terminal_(terminal), start_(Clock::now()) {}

  void update(int done, const std::string& text) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? done / elapsed : 0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0;
    if (terminal_) {
      if (done != total_ && now - lastDraw_ < std::chrono::milliseconds(100)) return;  // ~10 redraws/s
      lastDraw_ = now;
      const int width = 30, filled = total_ ? width * done / total_ : width;
      std::fprintf(stderr, "\r[%s%s] %d/%d  %s  %.0f steps/s  ETA %.0fs \x1b[K", std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), done, total_, text.c_str(), rate, eta);
      std::fflush(stderr);
    } else if (total_ > 0 && (done * 10 / total_ != lastDecile_ || done == total_)) {
      lastDecile_ = done * 10 / total_;
      std::fprintf(stderr, "step %d/%d  %s  %.0f steps/s\n", done, total_, text.c_str(), rate);
    }
  }
  void finish() {
    if (terminal_) std::fprintf(stderr, "\n");
  }

 private:
  using Clock = std::chrono::steady_clock;
  int total_;
  bool terminal_;
  Clock::time_point start_, lastDraw_{};
  int lastDecile_ = -1;
};

}  // namespace rl
