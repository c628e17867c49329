// DrawColourPanel: which attribute colours the points, and what its colours mean.
#include <QStringList>
#include <algorithm>

#include "vulkan/imgui_rect.h"
#include "vulkan/panels.h"
#include "vulkan/point_cloud.h"
#include "vulkan/point_colors.h"

namespace rl::ui {

namespace {

constexpr float kSwatch = 12.0f;

void drawCategoricalLegend(const PointAttribute& a, const std::vector<int>& counts,
                           PanelActions& actions, ItemRects& rects) {
  // Labels without points (an expert no row chose) are listed on one line at the end rather than
  // one row each, so the legend covers less of the cloud. Long legends (token ids) scroll.
  const int entries = a.labelCount();
  auto countOf = [&](int label) { return label < static_cast<int>(counts.size()) ? counts[label] : 0; };
  std::vector<int> used, unused;
  for (int label = 0; label < entries; ++label) (countOf(label) > 0 ? used : unused).push_back(label);
  const float rowHeight = ImGui::GetTextLineHeightWithSpacing();
  const float height = std::min(static_cast<int>(used.size()), 14) * rowHeight + 2;
  ImGui::BeginChild("legend", ImVec2(0, height), false);
  for (int label : used) {
    const int count = countOf(label);
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const float y = at.y + (ImGui::GetTextLineHeight() - kSwatch) / 2;
    ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(at.x, y), ImVec2(at.x + kSwatch, y + kSwatch),
                                              imColor(attributeColor(a, label)), 2.0f);
    ImGui::SetCursorScreenPos(ImVec2(at.x + kSwatch + 6, at.y));
    const QByteArray text = QString("%1  (%2)").arg(a.labelName(label)).arg(count).toUtf8();
    ImGui::PushID(label);
    if (ImGui::Selectable(text.constData(), false)) actions.selectLabel = label;
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Click to select these %d points", count);
    rects[QString("legend/%1").arg(label)] = lastItemRect();
    ImGui::PopID();
  }
  ImGui::EndChild();
  if (!unused.empty()) {
    QStringList names;
    for (int label : unused) names << a.labelName(label);
    const QByteArray text = QString("no points: %1").arg(names.join(", ")).toUtf8();
    ImGui::PushTextWrapPos(0.0f);  // at the panel's edge
    ImGui::TextDisabled("%s", text.constData());
    ImGui::PopTextWrapPos();
  }
}

void drawOrdinalLegend(const PointAttribute& a) {
  // A ramp from the first to the last label value.
  const float width = std::max(120.0f, ImGui::GetContentRegionAvail().x);
  const ImVec2 at = ImGui::GetCursorScreenPos();
  ImDrawList* draw = ImGui::GetWindowDrawList();
  constexpr int kSteps = 32;
  for (int s = 0; s < kSteps; ++s) {
    const float x0 = at.x + width * s / kSteps, x1 = at.x + width * (s + 1) / kSteps;
    draw->AddRectFilled(ImVec2(x0, at.y), ImVec2(x1 + 0.5f, at.y + kSwatch),
                        imColor(rampColor(double(s) / (kSteps - 1))));
  }
  ImGui::Dummy(ImVec2(width, kSwatch));
  const int count = a.labelCount();
  const QByteArray first = a.labelName(0).toUtf8();
  const QByteArray last = a.labelName(std::max(0, count - 1)).toUtf8();
  ImGui::TextUnformatted(first.constData());
  ImGui::SameLine(std::max(0.0f, width - ImGui::CalcTextSize(last.constData()).x) +
                  ImGui::GetStyle().WindowPadding.x);
  ImGui::TextUnformatted(last.constData());
}

}  // namespace

bool DrawColourPanel(PanelState& state, const PointCloud& cloud, const std::vector<int>& labelCounts,
                     PanelActions& actions, ItemRects& rects, std::optional<bool> open, bool wasOpen) {
  ImGui::SetNextWindowPos(ImVec2(10, 10), ImGuiCond_Always);
  if (open) ImGui::SetNextWindowCollapsed(!*open, ImGuiCond_Always);
  // A fixed width (height follows the contents): the cloud is fitted beside the panels, and must not
  // shift when a legend gets longer or shorter.
  ImGui::SetNextWindowSizeConstraints(ImVec2(kColourPanelWidth, 0), ImVec2(kColourPanelWidth, 10000));
  const ImGuiWindowFlags flags = ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoMove |
                                 ImGuiWindowFlags_NoSavedSettings;  // collapsible: a click on its arrow frees the cloud
  // "###colour": the window keeps its identity (and collapsed state) while its title changes.
  const int shown = cloud.attributes.empty() ? -1 : std::clamp(state.colourBy, 0, int(cloud.attributes.size()) - 1);
  const QByteArray title = (wasOpen || shown < 0 ? QString("Colour by###colour")
                                                 : QString("Colour by: %1###colour").arg(cloud.attributes[size_t(shown)].name))
                               .toUtf8();
  const bool expanded = ImGui::Begin(title.constData(), nullptr, flags);
  rects["colour panel"] = QRectF(ImGui::GetWindowPos().x, ImGui::GetWindowPos().y,
                                 ImGui::GetWindowSize().x, ImGui::GetWindowSize().y);
  rects["colour panel title"] = QRectF(ImGui::GetWindowPos().x, ImGui::GetWindowPos().y, ImGui::GetWindowSize().x,
                                       ImGui::GetFrameHeight());
  if (!expanded) {
    ImGui::End();
    return false;
  }
  if (cloud.attributes.empty()) {
    ImGui::TextDisabled("no attributes");
    ImGui::End();
    return true;
  }
  const int n = static_cast<int>(cloud.attributes.size());
  state.colourBy = std::clamp(state.colourBy, 0, n - 1);
  const QByteArray current = cloud.attributes[state.colourBy].name.toUtf8();
  ImGui::SetNextItemWidth(115);
  if (ImGui::BeginCombo("##colourBy", current.constData())) {
    for (int i = 0; i < n; ++i) {
      const QByteArray name = cloud.attributes[i].name.toUtf8();
      ImGui::PushID(i);
      if (ImGui::Selectable(name.constData(), i == state.colourBy) && i != state.colourBy) {
        state.colourBy = i;
        actions.colourByChanged = true;
      }
      rects[QString("colour by/%1").arg(i)] = lastItemRect();
      ImGui::PopID();
    }
    ImGui::EndCombo();
  }
  rects["colour by"] = lastItemRect();
  ImGui::SameLine();
  ImGui::Checkbox("legend", &state.showLegend);
  if (state.showLegend) {
    ImGui::Separator();
    const PointAttribute& a = cloud.attributes[state.colourBy];
    if (a.kind == PointAttribute::Kind::Categorical)
      drawCategoricalLegend(a, labelCounts, actions, rects);
    else
      drawOrdinalLegend(a);
  }
  ImGui::End();
  return true;
}

}  // namespace rl::ui
