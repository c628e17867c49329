#include "vulkan/point_cloud.h"

#include <algorithm>
#include <cmath>

namespace rl::ui {

int PointAttribute::labelCount() const {
  int largest = -1;
  for (int l : labels) largest = std::max(largest, l);
  return std::max(static_cast<int>(labelNames.size()), largest + 1);
}

QString PointAttribute::labelName(int label) const {
  if (label < 0) return "none";
  if (label < static_cast<int>(labelNames.size()) && !labelNames[label].isEmpty())
    return labelNames[label];
  return QString::number(label);
}

QString PointCloud::validate() const {
  if (xy.size() % 2 != 0)
    return QString("point cloud: xy holds %1 floats, not x,y pairs").arg(xy.size());
  for (size_t i = 0; i < xy.size(); ++i) {
    if (!std::isfinite(xy[i]))
      return QString("point cloud: point %1 has a non-finite %2 coordinate")
          .arg(i / 2)
          .arg(i % 2 ? "y" : "x");
  }
  for (const PointAttribute& a : attributes) {
    if (static_cast<int>(a.labels.size()) != size())
      return QString("point cloud: attribute '%1' has %2 labels for %3 points")
          .arg(a.name)
          .arg(a.labels.size())
          .arg(size());
  }
  return {};
}

QString PointCloud::describePoint(int index) const {
  if (index < 0 || index >= size()) return {};
  if (describe) return describe(index);
  QString text = QString("point %1").arg(index);
  for (const PointAttribute& a : attributes)
    text += QString("\n%1: %2").arg(a.name, a.labelName(a.labels[static_cast<size_t>(index)]));
  return text;
}

}  // namespace rl::ui
