#include "vulkan/point_picking.h"

#include "vulkan/point_animation.h"
#include "vulkan/view_transform.h"

namespace rl::ui {

int pointAt(const PointAnimation& points, float t, const ViewTransform& view, const QPointF& pixel,
            double radius) {
  int best = -1;
  double bestD2 = radius * radius;
  for (int i = 0; i < points.size(); ++i) {
    const QPointF d = view.dataToPixel(points.position(i, t)) - pixel;
    const double d2 = d.x() * d.x() + d.y() * d.y();
    if (d2 <= bestD2) {
      bestD2 = d2;
      best = i;
    }
  }
  return best;
}

std::vector<int> pointsInLasso(const PointAnimation& points, float t, const ViewTransform& view,
                               const QPolygonF& lasso) {
  std::vector<int> inside;
  if (lasso.size() < 3) return inside;
  const QRectF box = lasso.boundingRect();
  for (int i = 0; i < points.size(); ++i) {
    const QPointF p = view.dataToPixel(points.position(i, t));
    if (box.contains(p) && lasso.containsPoint(p, Qt::OddEvenFill)) inside.push_back(i);
  }
  return inside;
}

}  // namespace rl::ui
