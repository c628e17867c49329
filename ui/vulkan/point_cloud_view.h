#pragma once
// PointCloudView: the VulkanView for large live point clouds (t-SNE of token representations).
// A QVulkanWindow (PointCloudWindow) in a window container, drawing up to tens of thousands of
// points with a Vulkan graphics pipeline and Dear ImGui panels on top: colour-by combo and
// legend, zoom (wheel, around the cursor), pan (drag), hover tooltip with the caller's text,
// lasso selection (Shift+drag; Ctrl+Shift adds; click selects one, Esc clears), and a glide
// between refreshes of the same points. Without Vulkan it shows a sentence saying why instead.
//
// Grabbing: QWidget::grab() does NOT capture the Vulkan content. Use grabImage() for the view
// alone, or QScreen::grabWindow(topLevel->winId()) for a whole window (see the test).
#include <QImage>
#include <QPointer>
#include <QVector>
#include <QWidget>
#include <memory>
#include <vector>

#include "vulkan/panel_state.h"
#include "vulkan/point_cloud.h"

class QLabel;
class QVulkanInstance;
class QWindow;

namespace rl::ui {

class PointCloudWindow;

class PointCloudView : public QWidget {
  Q_OBJECT
 public:
  explicit PointCloudView(QWidget* parent = nullptr);
  ~PointCloudView() override;

  bool isVulkanAvailable() const { return window_ != nullptr; }
  // Why the view cannot draw (empty while it can): no Vulkan instance, no device, or a render
  // resource that failed.
  QString unavailableReason() const;

  // Replaces the cloud. With the same number of points it glides there (setAnimationDuration,
  // 300 ms by default; 0 jumps). Returns an error sentence and keeps the old cloud if `cloud` is
  // inconsistent.
  QString setPoints(PointCloud cloud);
  const PointCloud& points() const;
  void setAnimationDuration(int ms);

  void setColourBy(int attribute);
  int colourBy() const;

  void setSelection(std::vector<int> indices);
  std::vector<int> selection() const;
  void clearSelection() { setSelection({}); }

  // The point under the cursor (-1: none) and its hover text.
  int hoveredIndex() const;
  QString hoveredText() const;

  // Viewport logical pixels (relative to the Vulkan window, which fills this widget).
  QPointF dataToPixel(const QPointF& data) const;
  QPointF pixelToData(const QPointF& pixel) const;
  QPointF pointPixel(int index) const;  // where point `index` is drawn now
  void zoomAt(const QPointF& pixel, double factor);
  void resetView();
  double zoom() const;

  PanelState panelState() const;
  void setPanelState(const PanelState& state);
  // Where the ImGui panels drew a control last frame ("colour by", "colour by/<i>",
  // "legend/<label>", "fit view", "clear selection", "point size", "colour panel", "colour panel
  // title", "view panel").
  QRectF panelItemRect(const QString& name) const;
  // The colour panel: open, or collapsed to its title bar (the default on a viewport narrower
  // than kCompactViewportWidth). The change shows at the next frame.
  void setColourPanelOpen(bool open);
  bool colourPanelOpen() const;
  // The ImGui panels' rectangles last frame: a fit keeps every point out of them.
  std::vector<QRectF> panelRects() const;

  // Renders a frame now and returns the viewport (the Vulkan content, with the panels). Null
  // when Vulkan is unavailable or the view is not shown.
  QImage grabImage();
  // Writes grabImage() as PNG. Returns an empty string, or a sentence naming the file and reason.
  QString exportPng(const QString& path);

  // The Vulkan window (for sending input in tests); null when unavailable.
  QWindow* viewportWindow() const;

 signals:
  void selectionChanged(const QVector<int>& indices);
  void hoveredChanged(int index);
  void colourByChanged(int attribute);
  void frameRendered();

 private:
  void showUnavailable(const QString& reason);

  std::unique_ptr<QVulkanInstance> instance_;
  PointCloudWindow* window_ = nullptr;  // owned by container_
  QWidget* container_ = nullptr;
  QLabel* message_ = nullptr;
  QString reason_;
  PointCloud emptyCloud_;
};

}  // namespace rl::ui
