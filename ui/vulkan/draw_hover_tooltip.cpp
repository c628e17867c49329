// DrawHoverTooltip: the caller's text for the hovered point (token, context, gate probabilities).
#include <imgui.h>

#include "vulkan/panels.h"

namespace rl::ui {

void DrawHoverTooltip(const QString& text) {
  if (text.isEmpty()) return;
  const QByteArray utf8 = text.toUtf8();
  ImGui::BeginTooltip();
  ImGui::PushTextWrapPos(ImGui::GetFontSize() * 32.0f);
  ImGui::TextUnformatted(utf8.constData(), utf8.constData() + utf8.size());
  ImGui::PopTextWrapPos();
  ImGui::EndTooltip();
}

}  // namespace rl::ui
