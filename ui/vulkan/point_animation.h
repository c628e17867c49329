#pragma once
// PointAnimation: when a refresh replaces a cloud with one of the same size, every point glides
// from where it is drawn now to its new place (the t-SNE warm start keeps clusters recognisable).
// The GPU interpolates (mix(from, to, t) in the vertex shader); this class holds both position
// sets and the eased progress, and answers where a point is drawn at a given time, for hover and
// lasso. Times are milliseconds from any monotonic clock, passed in so tests control them.
#include <QPointF>
#include <QRectF>
#include <cstdint>
#include <vector>

namespace rl::ui {

class PointAnimation {
 public:
  // Jumps to `xy` (no animation).
  void reset(std::vector<float> xy, const QRectF& bounds);
  // Starts gliding from the positions drawn at `nowMs` to `xy`. Requires the same point count.
  void retarget(std::vector<float> xy, const QRectF& bounds, int64_t nowMs, int durationMs);

  // Eased progress in [0, 1] at `nowMs` (1 when no animation runs).
  float progress(int64_t nowMs) const;
  bool running(int64_t nowMs) const { return progress(nowMs) < 1.0f; }

  const std::vector<float>& from() const { return from_; }
  const std::vector<float>& to() const { return to_; }
  // The data position of point i at eased progress t (what the vertex shader computes).
  QPointF position(int i, float t) const;
  // The fitted data bounds at progress t, so an automatic fit moves with the points.
  QRectF bounds(float t) const;
  int size() const { return static_cast<int>(to_.size() / 2); }

 private:
  std::vector<float> from_, to_;
  QRectF fromBounds_, toBounds_;
  int64_t startMs_ = 0;
  int durationMs_ = 0;
};

// Bounding rectangle of an x,y array (an empty cloud gives (-1,-1)-(1,1)).
QRectF boundsOf(const std::vector<float>& xy);

}  // namespace rl::ui
