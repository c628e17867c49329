#include "vulkan/panel_state.h"

#include <algorithm>

namespace rl::ui {

QVariantMap PanelState::toVariantMap() const {
  return {{"colourBy", colourBy}, {"pointRadius", pointRadius}, {"showLegend", showLegend}};
}

PanelState PanelState::fromVariantMap(const QVariantMap& map) {
  PanelState s;
  s.colourBy = std::max(0, map.value("colourBy", s.colourBy).toInt());
  s.pointRadius = std::clamp(map.value("pointRadius", s.pointRadius).toFloat(), 1.0f, 12.0f);
  s.showLegend = map.value("showLegend", s.showLegend).toBool();
  return s;
}

}  // namespace rl::ui
