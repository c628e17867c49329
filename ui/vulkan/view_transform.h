#pragma once
// ViewTransform: data coordinates <-> logical viewport pixels. The data bounds are fitted into the
// viewport with a margin (aspect kept, y up), then the user's zoom and pan apply on top.
// px = data * scale + offset (scale.y < 0 flips y), which is what the point shader receives.
#include <QMarginsF>
#include <QPointF>
#include <QRectF>
#include <QSizeF>

namespace rl::ui {

class ViewTransform {
 public:
  void setViewport(const QSizeF& logicalSize);
  // Pixels along each edge kept free of the fitted data (where overlay panels sit).
  void setInsets(const QMarginsF& insets) { insets_ = insets; }
  QMarginsF insets() const { return insets_; }
  // The rectangle to fit (normalised; empty extents are widened so a single point still maps).
  void setDataBounds(const QRectF& bounds);
  QSizeF viewport() const { return viewport_; }
  QRectF dataBounds() const { return bounds_; }

  QPointF dataToPixel(const QPointF& data) const;
  QPointF pixelToData(const QPointF& pixel) const;
  QPointF scale() const;   // pixels per data unit, y negative
  QPointF offset() const;  // pixel position of data (0, 0)

  // Zooms by `factor` keeping the data point under `pixel` where it is.
  void zoomAt(const QPointF& pixel, double factor);
  void panBy(const QPointF& pixelDelta);
  void resetView();  // zoom 1, no pan: the data bounds fill the viewport again
  double zoom() const { return zoom_; }
  // True once the user zoomed or panned; a refit then keeps their view.
  bool userAdjusted() const { return zoom_ != 1.0 || pan_ != QPointF(); }

  static constexpr double kMargin = 0.06;  // share of the viewport left free on each side
  static constexpr double kMinZoom = 0.05, kMaxZoom = 2000.0;

 private:
  double fitScale() const;

  QSizeF viewport_{1, 1};
  QMarginsF insets_;
  QRectF bounds_{-1, -1, 2, 2};
  double zoom_ = 1.0;
  QPointF pan_;  // pixels
};

}  // namespace rl::ui
