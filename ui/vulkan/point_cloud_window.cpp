#include "vulkan/point_cloud_window.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>
#include <utility>

#include "run/row_set.h"
#include "vulkan/free_area.h"
#include "vulkan/panels.h"
#include "vulkan/point_colors.h"
#include "vulkan/point_picking.h"
#include "vulkan/point_renderer.h"

namespace rl::ui {

namespace {
constexpr double kHoverSlackPx = 3.0;  // hover reaches a little beyond the disc
constexpr double kClickSlopPx = 3.0;   // a press that moves less than this is a click
constexpr double kWheelBase = 1.0015;  // zoom factor per 1/8 degree: one notch ≈ ×1.2
constexpr double kPanelGapPx = 4.0;    // between a panel and the fitted cloud's area
}  // namespace

PointCloudWindow::PointCloudWindow() {
  // UNORM: the palette's bytes reach the screen unchanged (lavapipe would pick an sRGB format).
  setPreferredColorFormats({VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM});
  // Keep pipelines and ImGui's font when a dock hides the view.
  setFlags(QVulkanWindow::PersistentResources);
  clock_.start();
}

PointCloudWindow::~PointCloudWindow() = default;

QVulkanWindowRenderer* PointCloudWindow::createRenderer() { return new PointRenderer(*this); }

void PointCloudWindow::setRenderError(const QString& error) {
  renderError_ = error;
  emit renderFailed(error);
}

QString PointCloudWindow::setPoints(PointCloud cloud) {
  if (QString problem = cloud.validate(); !problem.isEmpty()) return problem;
  const bool glide = cloud.size() == cloud_.size() && cloud.size() > 0 && animationMs_ > 0;
  const QRectF bounds = boundsOf(cloud.xy);
  if (glide)
    animation_.retarget(cloud.xy, bounds, nowMs(), animationMs_);
  else
    animation_.reset(cloud.xy, bounds);
  const bool sameSize = cloud.size() == cloud_.size();
  cloud_ = std::move(cloud);
  if (cloud_.attributes.empty()) panel_.colourBy = 0;
  else panel_.colourBy = std::clamp(panel_.colourBy, 0, int(cloud_.attributes.size()) - 1);
  // A selection of the same tokens survives a refresh; a different cloud starts afresh.
  const bool dropSelection = !sameSize && !selection_.empty();
  if (!sameSize) selection_.clear();
  selected_.assign(static_cast<size_t>(cloud_.size()), 0);
  for (int i : selection_) selected_[static_cast<size_t>(i)] = 1;
  if (hovered_ >= cloud_.size()) hovered_ = -1;
  recolour();  // also rebuilds the instances, now that colours and flags have the new size
  if (dropSelection) emit selectionChanged({});
  if (cursorInside_) updateHover(cursor_);
  schedule();
  return {};
}

void PointCloudWindow::setColourBy(int attribute) {
  const int n = static_cast<int>(cloud_.attributes.size());
  const int clamped = n == 0 ? 0 : std::clamp(attribute, 0, n - 1);
  if (clamped == panel_.colourBy) return;
  panel_.colourBy = clamped;
  recolour();
  emit colourByChanged(clamped);
  schedule();
}

void PointCloudWindow::setPanelState(const PanelState& state) {
  const int before = panel_.colourBy;
  panel_ = state;
  panel_.colourBy = before;
  setColourBy(state.colourBy);
  schedule();
}

QRectF PointCloudWindow::panelItemRect(const QString& name) const {
  auto it = itemRects_.find(name);
  return it == itemRects_.end() ? QRectF() : it->second;
}

std::vector<QRectF> PointCloudWindow::panelRects() const {
  std::vector<QRectF> rects;
  for (const char* name : {"colour panel", "view panel"})
    if (const QRectF r = panelItemRect(name); !r.isEmpty()) rects.push_back(r);
  return rects;
}

void PointCloudWindow::setColourPanelOpen(bool open) {
  colourPanelRequest_ = open;
  schedule();
}

void PointCloudWindow::recolour() {
  colours_ = packedPointColors(cloud_, panel_.colourBy);
  labelCounts_.clear();
  if (panel_.colourBy < static_cast<int>(cloud_.attributes.size())) {
    const PointAttribute& a = cloud_.attributes[static_cast<size_t>(panel_.colourBy)];
    labelCounts_.assign(static_cast<size_t>(a.labelCount()), 0);
    for (int l : a.labels)
      if (l >= 0) ++labelCounts_[static_cast<size_t>(l)];
  }
  rebuildInstances();
}

void PointCloudWindow::rebuildInstances() {
  const int n = cloud_.size();
  instances_.resize(static_cast<size_t>(n));
  const auto& from = animation_.from();
  const auto& to = animation_.to();
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    instances_[i] = {{from[2 * i], from[2 * i + 1]},
                     {to[2 * i], to[2 * i + 1]},
                     colours_[i],
                     selected_[i] ? kPointSelected : 0u};
  }
  ++generation_;
}

void PointCloudWindow::setSelection(std::vector<int> indices) {
  applySelection(std::move(indices), true);
}

void PointCloudWindow::applySelection(std::vector<int> indices, bool announce) {
  const int n = cloud_.size();
  std::erase_if(indices, [n](int i) { return i < 0 || i >= n; });
  indices = sortedUnique(std::move(indices));
  const bool changed = indices != selection_;
  selection_ = std::move(indices);
  selected_.assign(static_cast<size_t>(n), 0);
  for (int i : selection_) selected_[static_cast<size_t>(i)] = 1;
  rebuildInstances();
  schedule();
  if (changed && announce)
    emit selectionChanged(QVector<int>(selection_.begin(), selection_.end()));
}

QString PointCloudWindow::hoveredText() const { return cloud_.describePoint(hovered_); }

float PointCloudWindow::syncView() {
  view_.setViewport(size());
  const float t = animation_.progress(nowMs());
  // Until the user zooms or pans, the fit follows the cloud as it glides, into the part of the
  // viewport the panels (as drawn last frame) leave free: no point is hidden under a panel. Once
  // the user zoomed or panned their view stays put, even when a panel opens or its legend grows.
  if (!view_.userAdjusted()) {
    view_.setDataBounds(animation_.bounds(t));
    view_.setInsets(insetsClearOf(view_.viewport(), panelRects(), view_.dataBounds().size(), kPanelGapPx, view_.insets()));
  }
  return t;
}

QPointF PointCloudWindow::dataToPixel(const QPointF& data) {
  syncView();
  return view_.dataToPixel(data);
}

QPointF PointCloudWindow::pixelToData(const QPointF& pixel) {
  syncView();
  return view_.pixelToData(pixel);
}

QPointF PointCloudWindow::pointPixel(int index) {
  const float t = syncView();
  if (index < 0 || index >= animation_.size()) return {};
  return view_.dataToPixel(animation_.position(index, t));
}

void PointCloudWindow::zoomAt(const QPointF& pixel, double factor) {
  syncView();
  view_.zoomAt(pixel, factor);
  if (cursorInside_) updateHover(cursor_);
  schedule();
}

void PointCloudWindow::panBy(const QPointF& pixelDelta) {
  syncView();
  view_.panBy(pixelDelta);
  schedule();
}

void PointCloudWindow::resetView() {
  view_.resetView();
  syncView();
  if (cursorInside_) updateHover(cursor_);
  schedule();
}

void PointCloudWindow::updateHover(const QPointF& pos) {
  const float t = syncView();
  int index = -1;
  if (!imgui_.capturesMouseAt(pos) && drag_ != Drag::Pan)
    index = pointAt(animation_, t, view_, pos, panel_.pointRadius + kHoverSlackPx);
  if (index != hovered_) {
    hovered_ = index;
    emit hoveredChanged(index);
    schedule();
  }
}

void PointCloudWindow::schedule(int frames) {
  pendingFrames_ = std::max(pendingFrames_, frames);
  requestUpdate();
}

PointCloudWindow::Frame PointCloudWindow::beginFrame() {
  const int64_t now = nowMs();
  const float dt = static_cast<float>(now - lastFrameMs_) / 1000.0f;
  lastFrameMs_ = now;
  const qreal dpr = devicePixelRatio();
  const QSizeF logical = QSizeF(swapChainImageSize()) / dpr;

  imgui_.beginFrame(logical, float(dpr), dt);
  PanelActions actions;
  const int compact = logical.width() < kCompactViewportWidth;
  if (compact != compactKnown_) {
    compactKnown_ = compact;
    colourPanelRequest_ = !compact;
  }
  colourPanelOpen_ = DrawColourPanel(panel_, cloud_, labelCounts_, actions, itemRects_,
                                     std::exchange(colourPanelRequest_, std::nullopt), colourPanelOpen_);
  DrawViewPanel(panel_, cloud_.size(), int(selection_.size()), view_.zoom(), actions, itemRects_);
  if (drag_ == Drag::Lasso) DrawLassoOverlay(lasso_);
  if (hovered_ >= 0 && drag_ == Drag::None) DrawHoverTooltip(hoveredText());

  if (actions.colourByChanged) {
    recolour();
    emit colourByChanged(panel_.colourBy);
  }
  if (actions.selectLabel >= 0 && panel_.colourBy < int(cloud_.attributes.size())) {
    const auto& labels = cloud_.attributes[size_t(panel_.colourBy)].labels;
    std::vector<int> chosen;
    for (int i = 0; i < cloud_.size(); ++i)
      if (labels[size_t(i)] == actions.selectLabel) chosen.push_back(i);
    applySelection(std::move(chosen), true);
  }
  if (actions.clearSelection) applySelection({}, true);
  if (actions.fitView) resetView();

  const float t = syncView();
  // While gliding, the cloud moves under a still cursor.
  if (t < 1.0f && cursorInside_ && drag_ == Drag::None) updateHover(cursor_);

  Frame frame;
  const QPointF s = view_.scale(), o = view_.offset();
  frame.constants = {{float(s.x()), float(s.y())},
                     {float(o.x()), float(o.y())},
                     {float(logical.width()), float(logical.height())},
                     t,
                     panel_.pointRadius,
                     0,
                     selection_.empty() ? 0 : 1};
  frame.hovered = hovered_;
  frame.count = cloud_.size();
  if (pendingFrames_ > 0) --pendingFrames_;
  frame.moreFrames = t < 1.0f || pendingFrames_ > 0 || imgui_.wantsAnotherFrame();
  return frame;
}

QImage PointCloudWindow::grabViewport() {
  QImage image = grab();
  // grab() copies the swapchain bytes into an RGBA image; with a BGRA swapchain red and blue trade.
  const VkFormat f = colorFormat();
  if (f == VK_FORMAT_B8G8R8A8_UNORM || f == VK_FORMAT_B8G8R8A8_SRGB) image = image.rgbSwapped();
  return image;
}

// --- input ---

void PointCloudWindow::mousePressEvent(QMouseEvent* e) {
  const QPointF pos = e->position();
  cursor_ = pos;
  imgui_.mouseMove(pos);
  const int button = e->button() == Qt::LeftButton ? 0 : e->button() == Qt::RightButton ? 1 : 2;
  if (drag_ == Drag::None && imgui_.capturesMouseAt(pos)) {
    drag_ = Drag::ImGui;
    imgui_.mouseButton(button, true);
  } else if (drag_ == Drag::None && e->button() == Qt::LeftButton) {
    pressPos_ = lastPos_ = pos;
    if (e->modifiers() & Qt::ShiftModifier) {
      drag_ = Drag::Lasso;
      lassoAdds_ = e->modifiers() & Qt::ControlModifier;
      lasso_ = QPolygonF({pos});
    } else {
      drag_ = Drag::Pan;
    }
  }
  schedule();
  e->accept();
}

void PointCloudWindow::mouseMoveEvent(QMouseEvent* e) {
  const QPointF pos = e->position();
  cursor_ = pos;
  cursorInside_ = true;
  imgui_.mouseMove(pos);
  if (drag_ == Drag::Pan) {
    panBy(pos - lastPos_);
    lastPos_ = pos;
  } else if (drag_ == Drag::Lasso) {
    if (QLineF(lasso_.back(), pos).length() >= 2.0) lasso_ << pos;
  }
  updateHover(pos);
  schedule();
  e->accept();
}

void PointCloudWindow::mouseReleaseEvent(QMouseEvent* e) {
  const QPointF pos = e->position();
  imgui_.mouseMove(pos);
  const Drag ended = drag_;
  drag_ = Drag::None;
  const bool click = QLineF(pressPos_, pos).length() < kClickSlopPx;
  if (ended == Drag::ImGui) {
    const int button = e->button() == Qt::LeftButton ? 0 : e->button() == Qt::RightButton ? 1 : 2;
    imgui_.mouseButton(button, false);
  } else if (ended == Drag::Lasso) {
    lasso_ << pos;
    std::vector<int> inside = pointsInLasso(animation_, syncView(), view_, lasso_);
    if (lassoAdds_) inside.insert(inside.end(), selection_.begin(), selection_.end());
    lasso_.clear();
    applySelection(std::move(inside), true);
  } else if (ended == Drag::Pan && click) {
    // A click selects the point under it, or clears the selection on empty space.
    const int index = pointAt(animation_, syncView(), view_, pos,
                              panel_.pointRadius + kHoverSlackPx);
    applySelection(index >= 0 ? std::vector<int>{index} : std::vector<int>{}, true);
  }
  updateHover(pos);
  schedule();
  e->accept();
}

void PointCloudWindow::mouseDoubleClickEvent(QMouseEvent* e) {
  if (imgui_.capturesMouseAt(e->position())) {
    mousePressEvent(e);  // ImGui sees a second press; Qt sends no extra press for it
    return;
  }
  drag_ = Drag::None;
  resetView();
  e->accept();
}

void PointCloudWindow::wheelEvent(QWheelEvent* e) {
  const QPointF pos = e->position();
  cursor_ = pos;
  imgui_.mouseMove(pos);
  const double notches = e->angleDelta().y() / 120.0;
  if (imgui_.capturesMouseAt(pos))
    imgui_.mouseWheel(float(notches));  // scrolls a long legend
  else if (e->angleDelta().y() != 0)
    zoomAt(pos, std::pow(kWheelBase, e->angleDelta().y()));
  schedule();
  e->accept();
}

void PointCloudWindow::keyPressEvent(QKeyEvent* e) {
  if (e->key() == Qt::Key_Escape && !selection_.empty()) {
    applySelection({}, true);
    e->accept();
    return;
  }
  QVulkanWindow::keyPressEvent(e);
}

bool PointCloudWindow::event(QEvent* e) {
  if (e->type() == QEvent::Leave) {
    cursorInside_ = false;
    imgui_.mouseLeft();
    if (hovered_ != -1) {
      hovered_ = -1;
      emit hoveredChanged(-1);
    }
    schedule();
  } else if (e->type() == QEvent::Enter) {
    cursorInside_ = true;
  }
  return QVulkanWindow::event(e);
}

}  // namespace rl::ui
