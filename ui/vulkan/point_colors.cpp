#include "vulkan/point_colors.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "views/plot_style.h"
#include "vulkan/point_cloud.h"

namespace rl::ui {

QColor noLabelColor() { return QColor(170, 170, 170); }

QColor rampColor(double x) {
  static const std::array<QColor, 5> stops = {QColor(68, 1, 84), QColor(59, 82, 139),
                                              QColor(33, 145, 140), QColor(94, 201, 98),
                                              QColor(253, 231, 37)};
  const double s = std::clamp(x, 0.0, 1.0) * (stops.size() - 1);
  const size_t k = std::min(static_cast<size_t>(s), stops.size() - 2);
  const double f = s - static_cast<double>(k);
  const QColor &a = stops[k], &b = stops[k + 1];
  auto mix = [f](int u, int v) { return static_cast<int>(std::lround(u + (v - u) * f)); };
  return QColor(mix(a.red(), b.red()), mix(a.green(), b.green()), mix(a.blue(), b.blue()));
}

QColor attributeColor(const PointAttribute& attribute, int label) {
  if (label < 0) return noLabelColor();
  if (attribute.kind == PointAttribute::Kind::Categorical)
    return label < static_cast<int>(attribute.colours.size()) ? attribute.colours[static_cast<size_t>(label)]
                                                                : expertColor(label);
  const int count = attribute.labelCount();
  return rampColor(count > 1 ? static_cast<double>(label) / (count - 1) : 0.0);
}

uint32_t packRgba(const QColor& c) {
  return static_cast<uint32_t>(c.red()) | static_cast<uint32_t>(c.green()) << 8 |
         static_cast<uint32_t>(c.blue()) << 16 | static_cast<uint32_t>(c.alpha()) << 24;
}

std::vector<uint32_t> packedPointColors(const PointCloud& cloud, int attribute) {
  const size_t n = static_cast<size_t>(cloud.size());
  if (attribute < 0 || attribute >= static_cast<int>(cloud.attributes.size()))
    return std::vector<uint32_t>(n, packRgba(expertColor(0)));
  const PointAttribute& a = cloud.attributes[static_cast<size_t>(attribute)];
  // Colours per label once (a token-id attribute may have thousands of points per label).
  std::vector<uint32_t> byLabel(static_cast<size_t>(a.labelCount()));
  for (size_t l = 0; l < byLabel.size(); ++l) byLabel[l] = packRgba(attributeColor(a, int(l)));
  const uint32_t none = packRgba(noLabelColor());
  std::vector<uint32_t> packed(n);
  for (size_t i = 0; i < n; ++i) {
    const int l = a.labels[i];
    packed[i] = l < 0 ? none : byLabel[static_cast<size_t>(l)];
  }
  return packed;
}

}  // namespace rl::ui
