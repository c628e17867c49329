#include "vulkan/view_transform.h"

#include <algorithm>

namespace rl::ui {

void ViewTransform::setViewport(const QSizeF& logicalSize) {
  viewport_ = QSizeF(std::max(1.0, logicalSize.width()), std::max(1.0, logicalSize.height()));
}

void ViewTransform::setDataBounds(const QRectF& bounds) {
  QRectF b = bounds.normalized();
  // A single point or a line would give an infinite scale: give it a unit extent.
  const double w = b.width() > 1e-12 ? b.width() : 1.0;
  const double h = b.height() > 1e-12 ? b.height() : 1.0;
  bounds_ = QRectF(b.center().x() - w / 2, b.center().y() - h / 2, w, h);
}

double ViewTransform::fitScale() const {
  const double usableW = std::max(1.0, (viewport_.width() - insets_.left() - insets_.right()) * (1 - 2 * kMargin));
  const double usableH = std::max(1.0, (viewport_.height() - insets_.top() - insets_.bottom()) * (1 - 2 * kMargin));
  return std::min(usableW / bounds_.width(), usableH / bounds_.height());
}

QPointF ViewTransform::scale() const {
  const double s = fitScale() * zoom_;
  return {s, -s};
}

QPointF ViewTransform::offset() const {
  const QPointF s = scale();
  const QPointF centrePx((viewport_.width() + insets_.left() - insets_.right()) / 2 + pan_.x(),
                         (viewport_.height() + insets_.top() - insets_.bottom()) / 2 + pan_.y());
  const QPointF c = bounds_.center();
  return {centrePx.x() - c.x() * s.x(), centrePx.y() - c.y() * s.y()};
}

QPointF ViewTransform::dataToPixel(const QPointF& data) const {
  const QPointF s = scale(), o = offset();
  return {data.x() * s.x() + o.x(), data.y() * s.y() + o.y()};
}

QPointF ViewTransform::pixelToData(const QPointF& pixel) const {
  const QPointF s = scale(), o = offset();
  return {(pixel.x() - o.x()) / s.x(), (pixel.y() - o.y()) / s.y()};
}

void ViewTransform::zoomAt(const QPointF& pixel, double factor) {
  const QPointF anchor = pixelToData(pixel);
  zoom_ = std::clamp(zoom_ * factor, kMinZoom, kMaxZoom);
  // Move the pan so that `anchor` lands on `pixel` again.
  const QPointF moved = dataToPixel(anchor);
  pan_ += pixel - moved;
}

void ViewTransform::panBy(const QPointF& pixelDelta) { pan_ += pixelDelta; }

void ViewTransform::resetView() {
  zoom_ = 1.0;
  pan_ = QPointF();
}

}  // namespace rl::ui
