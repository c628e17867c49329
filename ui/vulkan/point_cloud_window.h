#pragma once
// PointCloudWindow: the QVulkanWindow inside PointCloudView. It owns the scene (cloud, colours,
// selection, hover, view transform, glide animation), turns mouse input into zoom / pan / lasso /
// hover or hands it to ImGui, and lets PointRenderer draw it. Everything runs on the GUI thread.
#include <QElapsedTimer>
#include <QPolygonF>
#include <QVector>
#include <QVulkanWindow>
#include <cstdint>
#include <optional>
#include <vector>

#include "vulkan/imgui_layer.h"
#include "vulkan/panel_state.h"
#include "vulkan/point_animation.h"
#include "vulkan/point_cloud.h"
#include "vulkan/point_pipeline.h"
#include "vulkan/view_transform.h"

namespace rl::ui {

class PointCloudWindow : public QVulkanWindow {
  Q_OBJECT
 public:
  PointCloudWindow();
  ~PointCloudWindow() override;

  QVulkanWindowRenderer* createRenderer() override;

  // Replaces the cloud; glides when the point count is unchanged. Returns an error sentence
  // (and keeps the old cloud) when `cloud` is inconsistent.
  QString setPoints(PointCloud cloud);
  const PointCloud& points() const { return cloud_; }
  void setColourBy(int attribute);
  int colourBy() const { return panel_.colourBy; }
  void setSelection(std::vector<int> indices);  // out-of-range indices are dropped
  const std::vector<int>& selection() const { return selection_; }
  int hoveredIndex() const { return hovered_; }
  QString hoveredText() const;
  void setAnimationDuration(int ms) { animationMs_ = ms; }

  // Logical pixels of this window, at the positions drawn now.
  QPointF dataToPixel(const QPointF& data);
  QPointF pixelToData(const QPointF& pixel);
  QPointF pointPixel(int index);  // where point `index` is drawn now
  void zoomAt(const QPointF& pixel, double factor);
  void panBy(const QPointF& pixelDelta);
  void resetView();
  double zoom() const { return view_.zoom(); }

  PanelState panelState() const { return panel_; }
  void setPanelState(const PanelState& state);
  QRectF panelItemRect(const QString& name) const;
  // The colour panel opens or collapses at the next frame; colourPanelOpen() is the last frame's
  // state. By default it starts collapsed below kCompactViewportWidth, and opens or collapses
  // again when the viewport crosses that width.
  void setColourPanelOpen(bool open);
  bool colourPanelOpen() const { return colourPanelOpen_; }
  // The panels' rectangles last frame (logical pixels; empty before the first frame): the
  // automatic fit and Fit keep every point clear of them.
  std::vector<QRectF> panelRects() const;
  QString renderError() const { return renderError_; }

  // Renders one frame now and returns it with the palette's channel order (QVulkanWindow::grab()
  // returns BGRA swapchain bytes as RGBA).
  QImage grabViewport();

  // --- for PointRenderer ---
  struct Frame {
    PointPushConstants constants{};
    int hovered = -1;
    int count = 0;
    bool moreFrames = false;  // animation running or ImGui settling
  };
  // Runs the ImGui panels (beginning an ImGui frame) and returns what to draw.
  Frame beginFrame();
  ImGuiLayer& imgui() { return imgui_; }
  const std::vector<PointInstance>& instances() const { return instances_; }
  uint64_t instanceGeneration() const { return generation_; }
  void setRenderError(const QString& error);
  static QColor backgroundColor() { return QColor(255, 255, 255); }

 signals:
  void selectionChanged(const QVector<int>& indices);
  void hoveredChanged(int index);
  void colourByChanged(int attribute);
  void frameRendered();
  void renderFailed(const QString& error);

 protected:
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void mouseDoubleClickEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;
  bool event(QEvent* e) override;

 private:
  friend class PointRenderer;
  enum class Drag { None, ImGui, Pan, Lasso };

  int64_t nowMs() const { return clock_.elapsed(); }
  // Brings the view transform up to date (viewport size, automatic fit following the glide).
  float syncView();
  void rebuildInstances();
  void recolour();
  void applySelection(std::vector<int> indices, bool announce);
  void updateHover(const QPointF& pos);
  void schedule(int frames = 2);

  PointCloud cloud_;
  PointAnimation animation_;
  ViewTransform view_;
  PanelState panel_;
  ItemRects itemRects_;
  ImGuiLayer imgui_;
  std::vector<uint32_t> colours_;
  std::vector<int> labelCounts_;
  std::vector<uint8_t> selected_;
  std::vector<int> selection_;
  std::vector<PointInstance> instances_;
  uint64_t generation_ = 0;
  int hovered_ = -1;
  QPointF cursor_{-1, -1};
  bool cursorInside_ = false;
  Drag drag_ = Drag::None;
  QPointF pressPos_, lastPos_;
  QPolygonF lasso_;
  bool lassoAdds_ = false;
  int animationMs_ = 300;
  std::optional<bool> colourPanelRequest_;
  bool colourPanelOpen_ = true;
  int compactKnown_ = -1;  // whether the viewport was narrow at the last frame; -1 before the first
  int pendingFrames_ = 0;
  QElapsedTimer clock_;
  int64_t lastFrameMs_ = 0;
  QString renderError_;
};

}  // namespace rl::ui
