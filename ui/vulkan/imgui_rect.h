#pragma once
// Small bridges between ImGui and Qt types for the panels.
#include <QColor>
#include <QRectF>
#include <imgui.h>

namespace rl::ui {

// The last ImGui item's rectangle.
inline QRectF lastItemRect() {
  const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  return QRectF(QPointF(a.x, a.y), QPointF(b.x, b.y));
}

inline ImU32 imColor(const QColor& c, int alpha = 255) {
  return IM_COL32(c.red(), c.green(), c.blue(), alpha);
}

}  // namespace rl::ui
