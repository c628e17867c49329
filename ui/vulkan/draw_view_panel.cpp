// DrawViewPanel: counts, fit / clear, point size, and how the mouse works here.
#include "vulkan/imgui_rect.h"
#include "vulkan/panels.h"

namespace rl::ui {

void DrawViewPanel(PanelState& state, int points, int selected, double zoom,
                   PanelActions& actions, ItemRects& rects) {
  const ImVec2 display = ImGui::GetIO().DisplaySize;
  ImGui::SetNextWindowPos(ImVec2(10, display.y - 10), ImGuiCond_Always, ImVec2(0, 1));
  const ImGuiWindowFlags flags = ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoMove |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoTitleBar;
  ImGui::SetNextWindowBgAlpha(0.85f);
  ImGui::SetNextWindowSizeConstraints(ImVec2(kViewPanelWidth, 0), ImVec2(kViewPanelWidth, 10000));
  if (!ImGui::Begin("View", nullptr, flags)) {
    ImGui::End();
    return;
  }
  rects["view panel"] = QRectF(ImGui::GetWindowPos().x, ImGui::GetWindowPos().y, ImGui::GetWindowSize().x,
                               ImGui::GetWindowSize().y);
  ImGui::Text("%d points · %d selected", points, selected);
  ImGui::SameLine();
  ImGui::TextDisabled("(?)");
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("wheel: zoom\ndrag: pan\nshift+drag: lasso (ctrl+shift adds)\nclick: select one, esc: clear\n"
                      "double-click: fit");
  const QByteArray fit = zoom != 1.0 ? QString("Fit (%1×)").arg(zoom, 0, 'g', 2).toUtf8() : QByteArray("Fit");
  if (ImGui::Button(fit.constData())) actions.fitView = true;
  rects["fit view"] = lastItemRect();
  ImGui::SameLine();
  ImGui::BeginDisabled(selected == 0);
  if (ImGui::Button("Clear selection")) actions.clearSelection = true;
  rects["clear selection"] = lastItemRect();
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::SetNextItemWidth(60);
  ImGui::SliderFloat("##size", &state.pointRadius, 1.0f, 12.0f, "%.0f px");
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("point size");
  rects["point size"] = lastItemRect();
  ImGui::End();
}

}  // namespace rl::ui
