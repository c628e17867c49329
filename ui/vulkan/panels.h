#pragma once
// The VulkanView's ImGui panels, one Draw<Panel>() per file (draw_*.cpp). Each runs inside an
// ImGui frame on the view's own context, reads the scene, and reports requests in PanelActions.
#include <QPolygonF>
#include <QString>
#include <optional>
#include <vector>

#include "vulkan/panel_state.h"

namespace rl::ui {

struct PointCloud;

// Fixed panel widths (logical pixels), so a panel whose text changes (zoom, legend) keeps its width.
// The cloud is fitted into the part of the viewport the panels leave free (PointCloudWindow).
constexpr float kColourPanelWidth = 210.0f;
constexpr float kViewPanelWidth = 240.0f;
// Below this viewport width the colour panel starts collapsed to its title bar (which names the
// attribute): expanded, its legend would take most of a narrow dock's cloud.
constexpr float kCompactViewportWidth = 480.0f;

// Top-left: the colour-by combo and the legend (click an entry to select its points), collapsible
// by its title bar's arrow. `labelCounts` holds the number of points per label of the current
// attribute. `open`, when set, opens or collapses it this frame; `wasOpen` is what the last frame
// returned (the collapsed title names the attribute). Returns whether it is open.
bool DrawColourPanel(PanelState& state, const PointCloud& cloud, const std::vector<int>& labelCounts,
                     PanelActions& actions, ItemRects& rects, std::optional<bool> open, bool wasOpen);

// Bottom-left: point and selection counts, fit / clear buttons, point size, mouse hints.
void DrawViewPanel(PanelState& state, int points, int selected, double zoom,
                   PanelActions& actions, ItemRects& rects);

// The hovered point's text next to the cursor.
void DrawHoverTooltip(const QString& text);

// The lasso being drawn (logical pixels).
void DrawLassoOverlay(const QPolygonF& lasso);

}  // namespace rl::ui
