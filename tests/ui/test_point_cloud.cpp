// The point-cloud VulkanView under xvfb on lavapipe, checked by its pixels: points drawn where
// the view projects them in their attribute's colour, colour-by changing those pixels, hover
// reporting the point under the cursor, lasso selecting what it encloses; then the
// Representations dock of the real window (t-SNE of a trained model's hidden states, lasso
// highlighting routing-heatmap rows) and `--screenshot` capturing the Vulkan content.
#include <QDockWidget>
#include <QImage>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <QtWidgets>
#include <cmath>
#include <functional>
#include <memory>

#include "spec/presets.h"
#include "views/plot_style.h"
#include "views/routing_view.h"
#include "vulkan/point_cloud_view.h"
#include "vulkan/point_cloud_window.h"

using namespace rl::ui;

namespace {

bool waitFor(const std::function<bool()>& pred, int timeoutMs) {
  QElapsedTimer clock;
  clock.start();
  while (!pred()) {
    if (clock.elapsed() > timeoutMs) return false;
    QTest::qWait(10);
  }
  return true;
}

// Colours within a few units per channel (antialiased edges and blending stay away from the centre).
bool near(QColor a, QColor b, int tolerance = 6) {
  return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance &&
         std::abs(a.blue() - b.blue()) <= tolerance;
}

// A 5 × 4 grid of points: attribute 0 labels by column (5 labels), attribute 1 by row (4 labels).
PointCloud gridCloud() {
  PointCloud c;
  PointAttribute byColumn{"column", PointAttribute::Kind::Categorical, {}, {}};
  PointAttribute byRow{"row", PointAttribute::Kind::Categorical, {}, {}};
  for (int row = 0; row < 4; ++row)
    for (int col = 0; col < 5; ++col) {
      c.xy.push_back(float(col));
      c.xy.push_back(float(row));
      byColumn.labels.push_back(col);
      byRow.labels.push_back(row);
    }
  c.attributes = {byColumn, byRow};
  return c;
}

}  // namespace

class PointCloudTest : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<QWidget> host_;
  PointCloudView* view_ = nullptr;
  int frameCount_ = 0;

  // Renders a fresh frame and returns it (the view's own read-back of the swapchain image).
  QImage frame() {
    QImage image = view_->grabImage();
    if (!image.isNull()) image = image.convertToFormat(QImage::Format_RGB32);
    if (qEnvironmentVariableIsSet("ROUTELAB_TEST_FRAMES"))
      image.save(QString("%1/frame-%2.png").arg(qEnvironmentVariable("ROUTELAB_TEST_FRAMES")).arg(frameCount_++));
    return image;
  }
  QColor pixelAt(const QImage& image, const QPointF& logical) {
    const qreal dpr = view_->viewportWindow()->devicePixelRatio();
    return image.pixelColor((logical * dpr).toPoint());
  }
  QWindow* window() const { return view_->viewportWindow(); }

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    host_ = std::make_unique<QWidget>();
    auto* layout = new QVBoxLayout(host_.get());
    layout->setContentsMargins(0, 0, 0, 0);
    view_ = new PointCloudView(host_.get());
    layout->addWidget(view_);
    host_->resize(640, 480);
    host_->show();
    QVERIFY(QTest::qWaitForWindowExposed(host_.get()));
    QVERIFY2(view_->isVulkanAvailable(), qPrintable(view_->unavailableReason()));
    view_->setAnimationDuration(0);
    QVERIFY(view_->setPoints(gridCloud()).isEmpty());
    QVERIFY(waitFor([this] { return window()->isExposed(); }, 5000));
    // ImGui sizes its auto-resizing panels over the first frames, and the fit makes room for them.
    for (int i = 0; i < 3; ++i) frame();
  }

  void cleanupTestCase() { host_.reset(); }

  void pointsAreDrawnAtTheirProjectedPositionsInTheirColour() {
    const QImage image = frame();
    QVERIFY(!image.isNull());
    QVERIFY2(view_->unavailableReason().isEmpty(), qPrintable(view_->unavailableReason()));
    // Background where there is no point: the centre of the empty space between grid cells.
    const QPointF gap = (view_->pointPixel(0) + view_->pointPixel(6)) / 2;
    QVERIFY2(near(pixelAt(image, gap), PointCloudWindow::backgroundColor()),
             qPrintable(pixelAt(image, gap).name()));
    // Every point's centre has its column's colour (attribute 0 = expert palette by column).
    for (int i = 0; i < 20; ++i) {
      const QPointF p = view_->pointPixel(i);
      QVERIFY2(QRectF(QPointF(0, 0), QSizeF(window()->size())).contains(p), qPrintable(QString::number(i)));
      const QColor got = pixelAt(image, p);
      QVERIFY2(near(got, expertColor(i % 5)),
               qPrintable(QString("point %1 at (%2, %3): %4, expected %5")
                              .arg(i).arg(p.x()).arg(p.y()).arg(got.name(), expertColor(i % 5).name())));
    }
    // The projection keeps the grid's geometry: x grows to the right, y upwards.
    QVERIFY(view_->pointPixel(1).x() > view_->pointPixel(0).x());
    QVERIFY(view_->pointPixel(5).y() < view_->pointPixel(0).y());
  }

  void colourByChangesThePixels() {
    view_->setColourBy(1);  // by row: points 0..4 all get expertColor(0), 5..9 expertColor(1), …
    const QImage image = frame();
    for (int i = 0; i < 20; ++i) {
      const QColor got = pixelAt(image, view_->pointPixel(i));
      QVERIFY2(near(got, expertColor(i / 5)),
               qPrintable(QString("point %1: %2, expected %3").arg(i).arg(got.name(), expertColor(i / 5).name())));
    }
    // A point whose row and column labels differ really changed colour.
    QVERIFY(!near(expertColor(7 % 5), expertColor(7 / 5)));
    view_->setColourBy(0);
    QVERIFY(near(pixelAt(frame(), view_->pointPixel(7)), expertColor(7 % 5)));
  }

  void hoverReportsThePointUnderTheCursor() {
    QSignalSpy hovered(view_, &PointCloudView::hoveredChanged);
    const QPointF p = view_->pointPixel(13);  // column 3, row 2
    QTest::mouseMove(window(), (p + QPointF(1, 1)).toPoint());
    QVERIFY(waitFor([this] { return view_->hoveredIndex() == 13; }, 3000));
    QVERIFY(hovered.count() >= 1);
    const QString text = view_->hoveredText();
    QVERIFY2(text.contains("point 13") && text.contains("column: 3") && text.contains("row: 2"), qPrintable(text));
    // The tooltip is drawn: pixels near the cursor that are neither background nor a point colour.
    // Elsewhere, nothing is hovered.
    QTest::mouseMove(window(), ((view_->pointPixel(0) + view_->pointPixel(6)) / 2).toPoint());
    QVERIFY(waitFor([this] { return view_->hoveredIndex() == -1; }, 3000));
  }

  void lassoSelectsThePointsInside() {
    QSignalSpy selected(view_, &PointCloudView::selectionChanged);
    // A polygon around points 6, 7, 8 (row 1, columns 1..3), dragged with Shift.
    const QPointF a = view_->pointPixel(6), b = view_->pointPixel(8);
    const double pad = (view_->pointPixel(7).x() - a.x()) / 3;
    const QList<QPointF> corners = {a + QPointF(-pad, -pad), b + QPointF(pad, -pad), b + QPointF(pad, pad),
                                    a + QPointF(-pad, pad)};
    QTest::mousePress(window(), Qt::LeftButton, Qt::ShiftModifier, corners[0].toPoint());
    for (int c = 1; c <= 4; ++c) {
      const QPointF from = corners[c - 1], to = corners[c % 4];
      for (int s = 1; s <= 8; ++s) {
        QMouseEvent move(QEvent::MouseMove, from + (to - from) * (s / 8.0), window()->mapToGlobal(from + (to - from) * (s / 8.0)),
                         Qt::NoButton, Qt::LeftButton, Qt::ShiftModifier);
        QCoreApplication::sendEvent(window(), &move);
      }
    }
    QTest::mouseRelease(window(), Qt::LeftButton, Qt::ShiftModifier, corners[0].toPoint());
    QVERIFY(waitFor([&] { return selected.count() >= 1; }, 3000));
    QCOMPARE(view_->selection(), (std::vector<int>{6, 7, 8}));
    // Unselected points fade (drawn at a quarter opacity over white), selected ones keep their colour.
    const QImage image = frame();
    QVERIFY(near(pixelAt(image, view_->pointPixel(7)), expertColor(2)));
    const QColor faded = pixelAt(image, view_->pointPixel(12));
    QVERIFY2(!near(faded, expertColor(2)) && faded.lightness() > expertColor(2).lightness(), qPrintable(faded.name()));
    view_->clearSelection();
    QVERIFY(view_->selection().empty());
  }
};

QTEST_MAIN(PointCloudTest)
#include "test_point_cloud.moc"
