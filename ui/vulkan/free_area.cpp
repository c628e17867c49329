#include "vulkan/free_area.h"

#include <algorithm>

namespace rl::ui {

namespace {

// Pixels per data unit when a box of `data` is fitted into `r` (aspect kept).
double fitScale(const QRectF& r, const QSizeF& data) {
  if (r.width() <= 0 || r.height() <= 0) return 0;
  return std::min(r.width() / std::max(1e-12, data.width()), r.height() / std::max(1e-12, data.height()));
}

bool clearOf(const QRectF& r, const std::vector<QRectF>& grown) {
  for (const QRectF& p : grown)
    if (r.intersects(p)) return false;
  return true;
}

}  // namespace

QMarginsF insetsClearOf(const QSizeF& viewport, const std::vector<QRectF>& panels, const QSizeF& dataSize,
                        double gap, const QMarginsF& previous) {
  const QRectF whole(QPointF(0, 0), viewport);
  std::vector<QRectF> grown;
  std::vector<double> lefts{0}, rights{viewport.width()}, tops{0}, bottoms{viewport.height()};
  for (const QRectF& p : panels) {
    const QRectF g = p.adjusted(-gap, -gap, gap, gap) & whole;
    if (g.isEmpty()) continue;
    grown.push_back(g);
    lefts.push_back(g.right()), rights.push_back(g.left());
    tops.push_back(g.bottom()), bottoms.push_back(g.top());
  }
  if (grown.empty()) return {};

  auto insetsOf = [&](const QRectF& r) {
    return QMarginsF(r.left(), r.top(), viewport.width() - r.right(), viewport.height() - r.bottom());
  };
  QRectF best;
  double bestScale = -1;
  for (double l : lefts)
    for (double r : rights)
      for (double t : tops)
        for (double b : bottoms) {
          const QRectF candidate(QPointF(l, t), QPointF(r, b));
          if (candidate.width() <= 0 || candidate.height() <= 0 || !clearOf(candidate, grown)) continue;
          const double scale = fitScale(candidate, dataSize);
          // Equal scales: the larger area leaves more room for zooming out and panning.
          const bool better = scale > bestScale * (1 + 1e-9) ||
                              (scale >= bestScale * (1 - 1e-9) && candidate.width() * candidate.height() > best.width() * best.height());
          if (better) best = candidate, bestScale = scale;
        }
  if (bestScale <= 0) return {};  // the panels leave no room at all: fit the whole viewport
  const QRectF kept = whole.marginsRemoved(previous);
  if (!previous.isNull() && kept.width() > 0 && kept.height() > 0 && clearOf(kept, grown) &&
      fitScale(kept, dataSize) >= 0.9 * bestScale)
    return previous;
  return insetsOf(best);
}

}  // namespace rl::ui
