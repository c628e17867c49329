#pragma once
// Which points are under the cursor or inside a lasso, in the positions they are drawn at
// (animation progress t, current view transform). Linear scans: 10,000 points take well under a
// millisecond, so no spatial index is needed.
#include <QPointF>
#include <QPolygonF>
#include <vector>

namespace rl::ui {

class PointAnimation;
class ViewTransform;

// The point drawn nearest to `pixel` within `radius` logical pixels, or -1. On equal distance the
// later point wins, as it is drawn on top.
int pointAt(const PointAnimation& points, float t, const ViewTransform& view, const QPointF& pixel,
            double radius);

// Indices (ascending) of the points whose centres lie inside the closed polygon `lasso`
// (logical pixels, odd-even rule).
std::vector<int> pointsInLasso(const PointAnimation& points, float t, const ViewTransform& view,
                               const QPolygonF& lasso);

}  // namespace rl::ui
