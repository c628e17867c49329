#pragma once
// Point colours: categorical attributes use the shared expert palette (views/plot_style.h), so
// expert 3 looks the same here as in the load bars; ordinal ones (position, token id) a
// perceptually even ramp. Points without a label are grey.
#include <QColor>
#include <cstdint>
#include <vector>

namespace rl::ui {

struct PointAttribute;
struct PointCloud;

QColor noLabelColor();
// x in [0, 1] -> a viridis-like ramp (dark violet … yellow).
QColor rampColor(double x);
QColor attributeColor(const PointAttribute& attribute, int label);
// One RGBA8 word per point (R in the lowest byte: VK_FORMAT_R8G8B8A8_UNORM) for colouring by
// attribute `attribute`; every point gets expertColor(0) when there is no such attribute.
std::vector<uint32_t> packedPointColors(const PointCloud& cloud, int attribute);
uint32_t packRgba(const QColor& c);

}  // namespace rl::ui
