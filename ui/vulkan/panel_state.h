#pragma once
// The VulkanView's ImGui panels: their small saved state (what a user would expect back after a
// restart), what they asked for this frame, and where they drew their controls.
#include <QRectF>
#include <QString>
#include <QVariantMap>
#include <map>

namespace rl::ui {

struct PanelState {
  int colourBy = 0;          // attribute index
  float pointRadius = 3.0f;  // logical pixels
  bool showLegend = true;

  QVariantMap toVariantMap() const;
  static PanelState fromVariantMap(const QVariantMap& map);  // missing keys keep defaults
};

// Requests a panel made during this frame; the window applies them after the panels ran.
struct PanelActions {
  bool colourByChanged = false;
  int selectLabel = -1;  // legend entry clicked: select every point with this label
  bool clearSelection = false;
  bool fitView = false;
};

// Where each named control was drawn last frame (logical pixels), so tests and tours can click it.
using ItemRects = std::map<QString, QRectF>;

}  // namespace rl::ui
