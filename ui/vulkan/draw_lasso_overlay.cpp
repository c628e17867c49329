// DrawLassoOverlay: the outline being drawn with Shift+drag, closed back to its start.
#include <imgui.h>

#include <vector>

#include "vulkan/panels.h"

namespace rl::ui {

void DrawLassoOverlay(const QPolygonF& lasso) {
  if (lasso.size() < 2) return;
  std::vector<ImVec2> points;
  points.reserve(static_cast<size_t>(lasso.size()));
  for (const QPointF& p : lasso) points.emplace_back(float(p.x()), float(p.y()));
  ImDrawList* draw = ImGui::GetForegroundDrawList();
  draw->AddPolyline(points.data(), static_cast<int>(points.size()), IM_COL32(30, 30, 30, 230),
                    ImDrawFlags_Closed, 1.5f);
}

}  // namespace rl::ui
