#include "vulkan/point_animation.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace rl::ui {

namespace {
float smoothstep(float x) { return x * x * (3.0f - 2.0f * x); }
QPointF lerp(const QPointF& a, const QPointF& b, float t) { return a + (b - a) * t; }
}  // namespace

void PointAnimation::reset(std::vector<float> xy, const QRectF& bounds) {
  to_ = std::move(xy);
  from_ = to_;
  fromBounds_ = toBounds_ = bounds;
  durationMs_ = 0;
}

void PointAnimation::retarget(std::vector<float> xy, const QRectF& bounds, int64_t nowMs,
                              int durationMs) {
  assert(xy.size() == to_.size());
  const float t = progress(nowMs);
  // Start from what is on screen now, so a refresh during a glide does not jump.
  std::vector<float> current(to_.size());
  for (size_t k = 0; k < to_.size(); ++k) current[k] = from_[k] + (to_[k] - from_[k]) * t;
  fromBounds_ = this->bounds(t);
  from_ = std::move(current);
  to_ = std::move(xy);
  toBounds_ = bounds;
  startMs_ = nowMs;
  durationMs_ = std::max(0, durationMs);
}

float PointAnimation::progress(int64_t nowMs) const {
  if (durationMs_ <= 0) return 1.0f;
  const double x = static_cast<double>(nowMs - startMs_) / durationMs_;
  return smoothstep(static_cast<float>(std::clamp(x, 0.0, 1.0)));
}

QPointF PointAnimation::position(int i, float t) const {
  const size_t k = static_cast<size_t>(i) * 2;
  return lerp(QPointF(from_[k], from_[k + 1]), QPointF(to_[k], to_[k + 1]), t);
}

QRectF PointAnimation::bounds(float t) const {
  return QRectF(lerp(fromBounds_.topLeft(), toBounds_.topLeft(), t),
                lerp(fromBounds_.bottomRight(), toBounds_.bottomRight(), t));
}

QRectF boundsOf(const std::vector<float>& xy) {
  if (xy.size() < 2) return QRectF(-1, -1, 2, 2);
  float minX = std::numeric_limits<float>::max(), minY = minX;
  float maxX = std::numeric_limits<float>::lowest(), maxY = maxX;
  for (size_t k = 0; k + 1 < xy.size(); k += 2) {
    minX = std::min(minX, xy[k]);
    maxX = std::max(maxX, xy[k]);
    minY = std::min(minY, xy[k + 1]);
    maxY = std::max(maxY, xy[k + 1]);
  }
  return QRectF(QPointF(minX, minY), QPointF(maxX, maxY));
}

}  // namespace rl::ui
