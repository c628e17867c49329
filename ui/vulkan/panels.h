#pragma once
// The VulkanView's ImGui panels, one Draw<Panel>() per file (draw_*.cpp). Each runs inside an
// ImGui frame on the view's own context, reads the scene, and reports requests in PanelActions.
#include <QPolygonF>
#include <QString>
#include <vector>

#include "vulkan/panel_state.h"

namespace rl::ui {

struct PointCloud;

// Fixed panel widths (logical pixels): the cloud is fitted beside them (PointCloudWindow), so a
// panel whose text changes (zoom, legend) must not move the points.
constexpr float kColourPanelWidth = 210.0f;
constexpr float kViewPanelWidth = 240.0f;

// Top-left: the colour-by combo and the legend (click an entry to select its points).
// `labelCounts` holds the number of points per label of the current attribute.
void DrawColourPanel(PanelState& state, const PointCloud& cloud,
                     const std::vector<int>& labelCounts, PanelActions& actions, ItemRects& rects);

// Bottom-left: point and selection counts, fit / clear buttons, point size, mouse hints.
void DrawViewPanel(PanelState& state, int points, int selected, double zoom,
                   PanelActions& actions, ItemRects& rects);

// The hovered point's text next to the cursor.
void DrawHoverTooltip(const QString& text);

// The lasso being drawn (logical pixels).
void DrawLassoOverlay(const QPolygonF& lasso);

}  // namespace rl::ui
