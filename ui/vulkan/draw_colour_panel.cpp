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

// A categorical legend's entries: labels with points (one row each, in `texts`) and without.
struct LegendEntries {
  std::vector<int> used, unused;
  std::vector<QByteArray> texts;  // "name  (count)" of each used label
  float widest = 0;               // the widest text, pixels
};

LegendEntries legendEntries(const PointAttribute& a, const std::vector<int>& counts) {
  LegendEntries e;
  auto countOf = [&](int label) { return label < static_cast<int>(counts.size()) ? counts[label] : 0; };
  for (int label = 0; label < a.labelCount(); ++label) {
    const int count = countOf(label);
    if (count == 0) {
      e.unused.push_back(label);
      continue;
    }
    e.used.push_back(label);
    e.texts.push_back(QString("%1  (%2)").arg(a.labelName(label)).arg(count).toUtf8());
    e.widest = std::max(e.widest, ImGui::CalcTextSize(e.texts.back().constData()).x);
  }
  return e;
}

void drawCategoricalLegend(const PointAttribute& a, const LegendEntries& e, int columns,
                           const std::vector<int>& counts, PanelActions& actions, ItemRects& rects) {
  // Labels without points (an expert no row chose) are listed on one line at the end rather than
  // one row each, so the legend covers less of the cloud. Long legends (token ids) scroll.
  // Entries fill the columns top to bottom, then left to right.
  const int used = static_cast<int>(e.used.size());
  const int rows = (used + columns - 1) / columns;
  const float rowHeight = ImGui::GetTextLineHeightWithSpacing();
  const float height = std::min(rows, 14) * rowHeight + 2;
  ImGui::BeginChild("legend", ImVec2(0, height), false);
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float columnWidth = ImGui::GetContentRegionAvail().x / columns;
  // One column: the selectable spans the row; more: its own column, less the gap to the next.
  const ImVec2 selectableSize(columns > 1 ? columnWidth - kSwatch - 6 - ImGui::GetStyle().ItemSpacing.x : 0, 0);
  for (int k = 0; k < used; ++k) {
    const int label = e.used[size_t(k)];
    const int count = label < static_cast<int>(counts.size()) ? counts[size_t(label)] : 0;
    const ImVec2 at(origin.x + (k / rows) * columnWidth, origin.y + (k % rows) * rowHeight);
    const float y = at.y + (ImGui::GetTextLineHeight() - kSwatch) / 2;
    ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(at.x, y), ImVec2(at.x + kSwatch, y + kSwatch),
                                              imColor(attributeColor(a, label)), 2.0f);
    ImGui::SetCursorScreenPos(ImVec2(at.x + kSwatch + 6, at.y));
    ImGui::PushID(label);
    if (ImGui::Selectable(e.texts[size_t(k)].constData(), false, 0, selectableSize)) actions.selectLabel = label;
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Click to select these %d points", count);
    rects[QString("legend/%1").arg(label)] = lastItemRect();
    ImGui::PopID();
  }
  ImGui::EndChild();
  if (!e.unused.empty()) {
    QStringList names;
    for (int label : e.unused) names << a.labelName(label);
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
  const int shown = cloud.attributes.empty() ? -1 : std::clamp(state.colourBy, 0, int(cloud.attributes.size()) - 1);
  const PointAttribute* attribute = shown >= 0 ? &cloud.attributes[size_t(shown)] : nullptr;
  const bool categorical = attribute && attribute->kind == PointAttribute::Kind::Categorical;
  // The entries' texts are only needed while the panel is open (collapsed, it is drawn every frame).
  LegendEntries legend;
  bool legendReady = false;
  if (categorical && wasOpen && state.showLegend) legend = legendEntries(*attribute, labelCounts), legendReady = true;
  // A fixed width (height follows the contents), so the panel does not shift when a legend's
  // counts change. On a narrow viewport a long legend takes two columns over a wider panel: the
  // panel gets shorter, and the band below it, where the cloud is fitted, taller.
  float width = kColourPanelWidth;
  int columns = 1;
  const float display = ImGui::GetIO().DisplaySize.x;
  if (wasOpen && state.showLegend && display < kCompactViewportWidth && legend.used.size() > 4) {
    const ImGuiStyle& style = ImGui::GetStyle();
    const float twoColumns = 2 * (kSwatch + 6 + legend.widest + 2 * style.FramePadding.x + style.ItemSpacing.x) +
                             2 * style.WindowPadding.x;
    if (twoColumns <= display - 20) width = std::max(width, twoColumns), columns = 2;
  }
  ImGui::SetNextWindowSizeConstraints(ImVec2(width, 0), ImVec2(width, 10000));
  const ImGuiWindowFlags flags = ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoMove |
                                 ImGuiWindowFlags_NoSavedSettings;  // collapsible: a click on its arrow frees the cloud
  // "###colour": the window keeps its identity (and collapsed state) while its title changes.
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
        legendReady = false;
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
    if (a.kind == PointAttribute::Kind::Categorical) {
      if (!legendReady) legend = legendEntries(a, labelCounts);  // just opened, or the attribute changed
      drawCategoricalLegend(a, legend, columns, labelCounts, actions, rects);
    }
    else
      drawOrdinalLegend(a);
  }
  ImGui::End();
  return true;
}

}  // namespace rl::ui
