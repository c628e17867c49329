// The point-cloud VulkanView under xvfb on lavapipe, checked by its pixels: points drawn where
// the view projects them in their attribute's colour, colour-by changing those pixels, hover
// reporting the point under the cursor, lasso selecting what it encloses; then the
// Representations dock of the real window (t-SNE of a trained model's hidden states, lasso
// highlighting routing-heatmap rows) and `--screenshot` capturing the Vulkan content; with a
// Transformer, the cloud of its tokens coloured by task and hovered for a token's labels.
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
#include "run/run_snapshot.h"
#include "train/hidden_states.h"
#include "views/plot_style.h"
#include "views/representation_cloud.h"
#include "views/representations_view.h"
#include "views/routing_view.h"
#include "vulkan/free_area.h"
#include "vulkan/panels.h"
#include "vulkan/point_cloud_view.h"
#include "vulkan/point_cloud_window.h"
#include "vulkan/point_colors.h"
#include "window/main_window.h"
#include "window/unattended_runs.h"

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

// Refreshes the Representations dock and waits for the new picture; false on time-out.
bool refreshAndWait(RepresentationsView* reps, int timeoutMs = 30000) {
  QSignalSpy shown(reps, &RepresentationsView::embeddingShown);
  reps->refresh();
  return shown.wait(timeoutMs);
}

// The real window on a preset, as the dock tests use it: CPU backend, the default layout, and its
// settings in `settingsDir` (nothing of the user's is read or written), shown at 1600 × 960.
struct RealWindow {
  MainWindow window;
  RealWindow(const rl::Spec& spec, const QString& settingsDir) : window(options(spec, settingsDir)) {
    window.resize(1600, 960);
    window.show();
  }
  static MainWindow::Options options(const rl::Spec& spec, const QString& settingsDir) {
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsDir);
    MainWindow::Options o;
    o.backend = "cpu";
    o.spec = spec;
    o.restoreLayout = false;
    return o;
  }
};

// Colours within a few units per channel (antialiased edges and blending stay away from the centre).
bool near(QColor a, QColor b, int tolerance = 6) {
  return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance &&
         std::abs(a.blue() - b.blue()) <= tolerance;
}

// The image pixel whose area holds `p` (its centre is within 0.71 px of p; rounding would pick a
// neighbour up to 1.41 px away).
QPoint pixelContaining(const QPointF& p) { return QPoint(int(std::floor(p.x())), int(std::floor(p.y()))); }

// A 5 × 4 grid of points: attribute 0 labels by column (5 labels), attribute 1 by row (4 labels).
PointCloud gridCloud() {
  PointCloud c;
  PointAttribute byColumn{"column", PointAttribute::Kind::Categorical, {}, {}, {}};
  PointAttribute byRow{"row", PointAttribute::Kind::Categorical, {}, {}, {}};
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

// Points whose centre pixel has a colour we can predict: `top`, the last point drawn (points are
// drawn in index order, discs of `radius` px) that covers the centre fully, with no later disc's
// antialiased edge near it; not under an ImGui panel, not the hovered point (drawn with a ring).
// Returns (point, expected colour) pairs.
std::vector<std::pair<int, QColor>> predictablePoints(const PointCloudView& view, const std::vector<QRectF>& panels,
                                                      double radius) {
  const PointCloud& cloud = view.points();
  const PointAttribute& a = cloud.attributes[size_t(view.colourBy())];
  const QRectF inside = QRectF(QPointF(0, 0), QSizeF(view.viewportWindow()->size())).adjusted(2, 2, -2, -2);
  std::vector<QPointF> at(size_t(cloud.size()));
  for (int i = 0; i < cloud.size(); ++i) at[size_t(i)] = view.pointPixel(i);
  // A disc covers a pixel fully within radius - 0.5 of its centre, partly up to radius + 0.5;
  // pixel centres sit up to 0.71 px from the projected point.
  const double full = radius - 1.25, edge = radius + 1.25;
  std::vector<std::pair<int, QColor>> out;
  for (int i = 0; i < cloud.size(); ++i) {
    const QPointF p = at[size_t(i)];
    bool covered = false;
    for (const QRectF& r : panels) covered = covered || r.adjusted(-2, -2, 2, 2).contains(p);
    if (covered || !inside.contains(p) || i == view.hoveredIndex()) continue;
    int top = i;
    for (int j = i + 1; j < cloud.size(); ++j)
      if (QLineF(p, at[size_t(j)]).length() <= full) top = j;
    bool ambiguous = false;
    for (int j = top + 1; j < cloud.size() && !ambiguous; ++j) {
      const double d = QLineF(p, at[size_t(j)]).length();
      ambiguous = d > full && d < edge;
    }
    if (ambiguous || top == view.hoveredIndex()) continue;
    out.emplace_back(i, attributeColor(a, a.labels[size_t(top)]));
  }
  return out;
}

// The predictable point farthest from its nearest neighbour, and that distance in pixels.
std::pair<int, double> mostIsolated(const PointCloudView& view, const std::vector<std::pair<int, QColor>>& candidates) {
  int target = -1;
  double spacing = 0;
  for (const auto& [i, colour] : candidates) {
    double nearest = 1e9;
    for (int j = 0; j < view.points().size(); ++j)
      if (j != i) nearest = std::min(nearest, QLineF(view.pointPixel(i), view.pointPixel(j)).length());
    if (nearest > spacing) {
      spacing = nearest;
      target = i;
    }
  }
  return {target, spacing};
}

// Points drawn (disc of the panel state's radius) at least partly under an ImGui panel, as the
// view projects them now; the first one described in `first`.
int pointsUnderPanels(const PointCloudView& view, QString* first = nullptr) {
  const double radius = view.panelState().pointRadius;
  int under = 0;
  for (int i = 0; i < view.points().size(); ++i) {
    const QPointF p = view.pointPixel(i);
    for (const QRectF& r : view.panelRects())
      if (r.adjusted(-radius, -radius, radius, radius).contains(p)) {
        if (under++ == 0 && first)
          *first = QString("point %1 at (%2, %3) under a panel at (%4, %5, %6 x %7)")
                       .arg(i).arg(p.x()).arg(p.y()).arg(r.x()).arg(r.y()).arg(r.width()).arg(r.height());
        break;
      }
  }
  return under;
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
    return image.pixelColor(pixelContaining(logical * dpr));
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
    const QString description = view_->hoveredText();
    QVERIFY2(description.contains("point 13") && description.contains("column: 3") && description.contains("row: 2"),
             qPrintable(description));
    // The tooltip is drawn: dark text pixels below-right of the cursor (the hovered point's dark
    // ring is left out; no point colour is that dark). Measured: 200 for its three lines.
    const QImage image = frame();
    const QPoint cursor = (p * window()->devicePixelRatio()).toPoint();
    int text = 0;
    for (int y = cursor.y() + 12; y < std::min(image.height(), cursor.y() + 120); ++y)
      for (int x = cursor.x() + 12; x < std::min(image.width(), cursor.x() + 250); ++x) {
        const QColor c = image.pixelColor(x, y);
        text += c.red() < 70 && c.green() < 70 && c.blue() < 70;
      }
    qInfo("tooltip: %d dark pixels", text);
    QVERIFY2(text > 50, qPrintable(QString("%1 dark pixels").arg(text)));
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

  void wheelZoomsAroundTheCursorAndDragPans() {
    QWindow* w = window();
    const QPointF anchor = view_->pointPixel(7);
    const QPointF other = view_->pointPixel(0);
    QWheelEvent wheel(anchor, w->mapToGlobal(anchor), QPoint(), QPoint(0, 240), Qt::NoButton, Qt::NoModifier,
                      Qt::NoScrollPhase, false);
    QCoreApplication::sendEvent(w, &wheel);
    QVERIFY2(std::abs(view_->zoom() - 1.433) < 0.01, qPrintable(QString::number(view_->zoom())));  // two notches, ×1.2 each
    QVERIFY(QLineF(view_->pointPixel(7), anchor).length() < 0.5);  // the point under the cursor stays put
    QVERIFY(QLineF(view_->pointPixel(0), anchor).length() > QLineF(other, anchor).length() * 1.4);
    // Drag without Shift pans by the mouse's movement.
    const QPointF start = view_->pointPixel(7) + QPointF(0, 20);  // empty space beside the point
    const QPointF delta(30, 15);
    QTest::mousePress(w, Qt::LeftButton, Qt::NoModifier, start.toPoint());
    for (int k = 1; k <= 5; ++k) {
      const QPointF p = start + delta * (k / 5.0);
      QMouseEvent move(QEvent::MouseMove, p, w->mapToGlobal(p), Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
      QCoreApplication::sendEvent(w, &move);
    }
    QTest::mouseRelease(w, Qt::LeftButton, Qt::NoModifier, (start + delta).toPoint());
    QVERIFY2(QLineF(view_->pointPixel(7), anchor + delta).length() < 1.0,
             qPrintable(QString("(%1, %2)").arg(view_->pointPixel(7).x()).arg(view_->pointPixel(7).y())));
    // The drawn pixels follow: point 7's colour is now at its new place.
    const QImage moved = frame();
    const QColor at7 = pixelAt(moved, view_->pointPixel(7));
    QVERIFY2(near(at7, expertColor(7 % 5)), qPrintable(QString("%1 at (%2, %3) in %4x%5, hovered %6, selected %7")
                                                          .arg(at7.name())
                                                          .arg(view_->pointPixel(7).x())
                                                          .arg(view_->pointPixel(7).y())
                                                          .arg(moved.width())
                                                          .arg(moved.height())
                                                          .arg(view_->hoveredIndex())
                                                          .arg(view_->selection().size())));
    view_->resetView();
    QCOMPARE(view_->zoom(), 1.0);
    QVERIFY(QLineF(view_->pointPixel(0), other).length() < 0.5);
  }

  // --- panels and the fit -----------------------------------------------------------------------

  void freeAreaPicksTheLargestScaleClearOfThePanels() {
    const QSizeF viewport(400, 400);
    QCOMPARE(insetsClearOf(viewport, {}, QSizeF(4, 3), 4), QMarginsF());
    // Panels covering everything leave no room: the whole viewport is used rather than nothing.
    QCOMPARE(insetsClearOf(viewport, {QRectF(0, 0, 400, 400)}, QSizeF(4, 3), 4), QMarginsF());
    // The dock's layout: the colour panel top-left, the view panel bottom-left. A wide cloud goes
    // into the full-width band between them; a tall one beside them.
    const std::vector<QRectF> panels = {QRectF(10, 10, 210, 120), QRectF(10, 340, 240, 50)};
    const QMarginsF wide = insetsClearOf(viewport, panels, QSizeF(4, 1), 4);
    QCOMPARE(wide, QMarginsF(0, 134, 0, 64));
    const QMarginsF tall = insetsClearOf(viewport, panels, QSizeF(1, 4), 4);
    QCOMPARE(tall, QMarginsF(254, 0, 0, 0));
    // A previous choice within 10 % of the best scale is kept (no jumps while a cloud glides).
    QCOMPARE(insetsClearOf(viewport, panels, QSizeF(1, 1.05), 4, QMarginsF(224, 0, 0, 64)), QMarginsF(224, 0, 0, 64));
  }

  // At the Representations dock's default width (~400 px) the panels used to cover the cloud's
  // top-left and bottom. After a fit (and the automatic fit) no point lies under a panel, with the
  // colour panel collapsed (the default on a narrow viewport) or opened by the user.
  void fitKeepsEveryPointClearOfThePanels() {
    QVERIFY(view_->colourPanelOpen());  // 640 px wide: open by default
    auto checkClear = [&](const char* what) {
      for (int i = 0; i < 3; ++i) frame();  // panels settle, then the fit follows them
      QCOMPARE(int(view_->panelRects().size()), 2);
      QString first;
      QVERIFY2(pointsUnderPanels(*view_, &first) == 0, qPrintable(QString("%1: %2").arg(what, first)));
    };
    checkClear("640 x 480, colour panel open");
    // A wide viewport: the legend's five entries in one column.
    QVERIFY(view_->panelItemRect("legend/3").top() > view_->panelItemRect("legend/0").bottom());

    host_->resize(400, 420);
    QVERIFY(waitFor([this] { frame(); return !view_->colourPanelOpen(); }, 3000));  // narrow: collapsed
    QVERIFY2(view_->panelItemRect("colour panel").height() < 30,
             qPrintable(QString::number(view_->panelItemRect("colour panel").height())));
    checkClear("400 x 420, colour panel collapsed");

    view_->setColourPanelOpen(true);
    QVERIFY(waitFor([this] { frame(); return view_->colourPanelOpen(); }, 3000));
    view_->zoomAt(view_->pointPixel(7), 1.5);  // Fit undoes a zoom, into the free area again
    view_->resetView();
    checkClear("400 x 420, colour panel open");
    // Narrow: two columns filled top to bottom (0-2 left, 3-4 right), so the open panel is shorter.
    const QRectF first = view_->panelItemRect("legend/0"), fourth = view_->panelItemRect("legend/3");
    QVERIFY2(fourth.left() > first.right() && std::abs(fourth.top() - first.top()) < 0.5,
             qPrintable(QString("legend/0 at (%1, %2), legend/3 at (%3, %4)").arg(first.x()).arg(first.y()).arg(fourth.x()).arg(fourth.y())));
    // The premise: fitted to the whole viewport (as before), the open panel would cover points.
    const QRectF data(0, 0, 4, 3);  // the grid's bounds
    const QSizeF viewport = window()->size();
    const double s = std::min(viewport.width() * 0.88 / data.width(), viewport.height() * 0.88 / data.height());
    const QRectF naive(QPointF(viewport.width() / 2 - 2 * s, viewport.height() / 2 - 1.5 * s), QSizeF(4 * s, 3 * s));
    QVERIFY(naive.intersects(view_->panelItemRect("colour panel")));

    host_->resize(640, 480);
    QVERIFY(waitFor([this] { frame(); return view_->colourPanelOpen() && window()->width() == 640; }, 3000));
  }

  // ImGui still gets the clicks on its panels: the title bar's arrow collapses and opens the colour
  // panel; hover and lasso keep working beside them.
  void colourPanelTitleClickTogglesIt() {
    for (int i = 0; i < 2; ++i) frame();
    QVERIFY(view_->colourPanelOpen());
    const QRectF title = view_->panelItemRect("colour panel title");
    QVERIFY(!title.isEmpty());
    const QPoint arrow = QPointF(title.left() + 10, title.center().y()).toPoint();
    auto click = [&] {
      QTest::mousePress(window(), Qt::LeftButton, Qt::NoModifier, arrow);
      frame();
      QTest::mouseRelease(window(), Qt::LeftButton, Qt::NoModifier, arrow);
      for (int i = 0; i < 3; ++i) frame();
    };
    click();
    QVERIFY(!view_->colourPanelOpen());
    QVERIFY(view_->panelItemRect("colour panel").height() < 30);
    QVERIFY(view_->selection().empty());  // the click went to ImGui, not to the cloud
    click();
    QVERIFY(view_->colourPanelOpen());
    // Beside the panels the cloud still answers the mouse.
    QTest::mouseMove(window(), view_->pointPixel(13).toPoint());
    QVERIFY(waitFor([this] { return view_->hoveredIndex() == 13; }, 3000));
    QTest::mouseMove(window(), ((view_->pointPixel(0) + view_->pointPixel(6)) / 2).toPoint());
    QVERIFY(waitFor([this] { return view_->hoveredIndex() == -1; }, 3000));
  }

  // --- the Representations dock in the real window ---------------------------------------------

  void representationsDockDrawsTheTrainedModelsHiddenStates() {
    host_.reset();  // one window at a time on the shared display
    QTemporaryDir settings;
    RealWindow real(rl::loadPreset(rl::kDefaultPreset), settings.path());
    MainWindow& window = real.window;
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    RepresentationsView* reps = window.representationsView();
    QVERIFY(reps && reps->isVisible());
    PointCloudView* cloud = reps->cloudView();
    QVERIFY2(cloud->isVulkanAvailable(), qPrintable(cloud->unavailableReason()));
    cloud->setAnimationDuration(0);

    // Train, then refresh: the dock embeds the hidden states of the step on screen.
    reps->setAutoRefresh(false, 100);
    window.stepN(150);
    QVERIFY(waitFor([&] { return window.shownSnapshot() && window.shownSnapshot()->step == 150; }, 20000));
    QVERIFY(waitFor([&] { return !reps->busy(); }, 30000));
    QSignalSpy shown(reps, &RepresentationsView::embeddingShown);
    reps->refresh();
    QVERIFY(shown.wait(30000));
    QCOMPARE(shown.at(0).at(0).toInt(), 150);
    QCOMPARE(reps->shownStep(), 150);
    const rl::HiddenStates& states = *reps->shownStates();
    QCOMPARE(cloud->points().size(), states.rows);
    QVERIFY(states.rows >= 500);  // the default preset holds out 800 rows
    QVERIFY2(reps->statusText().contains("step 150"), qPrintable(reps->statusText()));

    // The dock's default width (~400 px) is narrow: the colour panel starts collapsed, and no
    // point lies under a panel; opened, the automatic fit makes room for its legend.
    auto settle = [&] { for (int i = 0; i < 3; ++i) cloud->grabImage(); };
    settle();
    QVERIFY2(cloud->viewportWindow()->width() < kCompactViewportWidth, qPrintable(QString::number(cloud->viewportWindow()->width())));
    QVERIFY(!cloud->colourPanelOpen());
    QString first;
    QVERIFY2(pointsUnderPanels(*cloud, &first) == 0, qPrintable("collapsed: " + first));
    cloud->setColourPanelOpen(true);
    settle();
    QVERIFY(cloud->colourPanelOpen());
    QVERIFY2(pointsUnderPanels(*cloud, &first) == 0, qPrintable("open: " + first));
    if (qEnvironmentVariableIsSet("ROUTELAB_TEST_FRAMES"))  // to look at
      cloud->grabImage().save(qEnvironmentVariable("ROUTELAB_TEST_FRAMES") + "/dock-colour-panel-open.png");
    cloud->setColourPanelOpen(false);
    settle();

    // Pixels: every point whose centre colour is predictable has its chosen expert's colour.
    auto checkPixels = [&](const char* what) {
      QImage image;
      for (int i = 0; i < 3; ++i) image = cloud->grabImage();  // panels settle over a frame or two
      QVERIFY(!image.isNull());
      image = image.convertToFormat(QImage::Format_RGB32);
      const std::vector<QRectF> panels = {cloud->panelItemRect("colour panel"), cloud->panelItemRect("view panel")};
      const auto points = predictablePoints(*cloud, panels, cloud->panelState().pointRadius);
      // Measured: ~200 of the default preset's 800 points qualify at step 150; 100 leaves margin.
      QVERIFY2(points.size() >= 100, qPrintable(QString("%1: only %2 predictable points").arg(what).arg(points.size())));
      qInfo("%s: %d of %d points have a predictable centre colour", what, int(points.size()), cloud->points().size());
      const qreal dpr = cloud->viewportWindow()->devicePixelRatio();
      int wrong = 0;
      QString first;
      for (const auto& [i, colour] : points) {
        const QColor got = image.pixelColor(pixelContaining(cloud->pointPixel(i) * dpr));
        if (!near(got, colour)) {
          if (wrong++ == 0) first = QString("point %1: %2, expected %3").arg(i).arg(got.name(), colour.name());
        }
      }
      QVERIFY2(wrong == 0, qPrintable(QString("%1: %2 of %3 points wrong, first %4").arg(what).arg(wrong).arg(points.size()).arg(first)));
    };
    QCOMPARE(cloud->colourBy(), 0);  // chosen expert at the layer embedded
    QCOMPARE(cloud->points().attributes[0].labels[0], chosenExpert(states.routing[0], 0));
    checkPixels("by chosen expert");
    // Colour by class: class colours (a palette of its own) at the same places.
    int classAttribute = -1;
    for (size_t a = 0; a < cloud->points().attributes.size(); ++a)
      if (cloud->points().attributes[a].name == "class") classAttribute = int(a);
    QVERIFY(classAttribute > 0);
    cloud->setColourBy(classAttribute);
    checkPixels("by class");

    // Hover a point whose centre is its own: the dock reports its index, class and gate probabilities.
    const std::vector<QRectF> panels = {cloud->panelItemRect("colour panel"), cloud->panelItemRect("view panel")};
    const auto points = predictablePoints(*cloud, panels, cloud->panelState().pointRadius);
    // The clusters are dense: take the point farthest from its nearest neighbour and zoom in
    // around it until that neighbour is a few pixels away, so the cursor (whole pixels) is
    // unambiguously on it.
    int target = -1;
    double spacing = 0;
    for (const auto& [i, colour] : points) {
      double nearest = 1e9;
      for (int j = 0; j < cloud->points().size(); ++j)
        if (j != i) nearest = std::min(nearest, QLineF(cloud->pointPixel(i), cloud->pointPixel(j)).length());
      if (nearest > spacing) {
        spacing = nearest;
        target = i;
      }
    }
    QVERIFY(target >= 0 && spacing > 0.01);
    if (spacing < 4) cloud->zoomAt(cloud->pointPixel(target), 4 / spacing);
    QVERIFY(target >= 0);
    QTest::mouseMove(cloud->viewportWindow(), cloud->pointPixel(target).toPoint());
    QVERIFY(waitFor([&] { return cloud->hoveredIndex() == target; }, 3000));
    const QString text = cloud->hoveredText();
    QVERIFY2(text.contains(QString("point %1 ").arg(target)) &&
                 text.contains(QString("class %1").arg(states.labels[size_t(target)])) && text.contains("gate probabilities"),
             qPrintable(text));

    // Lasso around a quarter of the view: the points inside are selected, and their rows light up
    // in the routing heatmap (the probe batch is the same first held-out rows).
    const QSizeF size = cloud->viewportWindow()->size();
    cloud->resetView();  // undo the zoom of the hover check
    // Whole pixels: the mouse events carry integer positions.
    // Right of the colour panel (a press there belongs to ImGui), above the view panel.
    const int left = int(std::max(cloud->panelItemRect("colour panel").right() + 6, size.width() * 0.4));
    const QRectF box(QRect(left, int(size.height() * 0.2), int(size.width()) - left - 6, int(size.height() * 0.5)));
    std::vector<int> expected;
    for (int i = 0; i < cloud->points().size(); ++i)
      if (box.contains(cloud->pointPixel(i))) expected.push_back(i);
    QVERIFY2(expected.size() >= 5, qPrintable(QString::number(expected.size())));
    QSignalSpy rows(reps, &RepresentationsView::rowsSelected);
    QWindow* w = cloud->viewportWindow();
    const QList<QPointF> corners = {box.topLeft(), box.topRight(), box.bottomRight(), box.bottomLeft()};
    QTest::mousePress(w, Qt::LeftButton, Qt::ShiftModifier, corners[0].toPoint());
    for (int c = 1; c <= 4; ++c)
      for (int k = 1; k <= 10; ++k) {
        const QPointF p = corners[c - 1] + (corners[c % 4] - corners[c - 1]) * (k / 10.0);
        QMouseEvent move(QEvent::MouseMove, p, w->mapToGlobal(p), Qt::NoButton, Qt::LeftButton, Qt::ShiftModifier);
        QCoreApplication::sendEvent(w, &move);
      }
    QTest::mouseRelease(w, Qt::LeftButton, Qt::ShiftModifier, corners[0].toPoint());
    QVERIFY(rows.wait(3000) || rows.count() > 0);
    QVERIFY2(cloud->selection() == expected, qPrintable(QString("selected %1 points, %2 inside the box")
                                                          .arg(cloud->selection().size())
                                                          .arg(expected.size())));
    RoutingView* routing = window.routingView();
    std::vector<int> highlighted;
    for (int i : expected)
      if (i < window.shownSnapshot()->probe.rows) highlighted.push_back(states.testRows[size_t(i)]);
    QCOMPARE(routing->highlightedRows(), highlighted);
    int lit = 0;
    for (int r = 0; r < routing->heatmapRows(); ++r) {
      const bool on = routing->heatmapRowHighlighted(r);
      lit += on;
      QCOMPARE(on, std::binary_search(highlighted.begin(), highlighted.end(), routing->heatmapRowSource(r)));
      QCOMPARE(routing->heatmapAlpha(r, 0), on ? 255.0 : 40.0);
    }
    QCOMPARE(lit, int(highlighted.size()));
    QVERIFY2(routing->heatmapTitle().contains("highlighted"), qPrintable(routing->heatmapTitle()));
    if (qEnvironmentVariableIsSet("ROUTELAB_TEST_FRAMES")) {  // to look at
      QTest::qWait(300);
      grabWholeWindow(window).save(qEnvironmentVariable("ROUTELAB_TEST_FRAMES") + "/lasso-window.png");
    }
    // Esc clears the selection and the highlight.
    w->requestActivate();
    QTest::keyClick(w, Qt::Key_Escape);
    QVERIFY(waitFor([&] { return routing->highlightedRows().empty(); }, 3000));
    QCOMPARE(routing->heatmapAlpha(0, 0), 255.0);
    // Rows selected from outside (a token clicked in the token routing view) select their points,
    // and the selection reaches the heatmap as a lasso's does.
    reps->selectRows({states.testRows[2], states.testRows[7]});
    QCOMPARE(cloud->selection(), std::vector<int>({2, 7}));
    QVERIFY(waitFor([&] { return routing->highlightedRows() == std::vector<int>({states.testRows[2], states.testRows[7]}); }, 3000));
    reps->selectRows({});
    QVERIFY(cloud->selection().empty());
    QVERIFY(waitFor([&] { return routing->highlightedRows().empty(); }, 3000));

    // --screenshot: the whole window as the screen shows it, Vulkan content included.
    QTemporaryDir files;
    const QString path = files.filePath("shot.png");
    reps->setAutoRefresh(true, 100);
    cloud->setColourBy(0);
    window.resetRun();  // the screenshot mode trains N steps from a fresh run
    QVERIFY(waitFor([&] { return window.shownSnapshot() && window.shownSnapshot()->step == 0; }, 20000));
    ScreenshotRun run(window, 200, path);
    QSignalSpy finished(&run, &ScreenshotRun::finished);
    run.start();
    QVERIFY(finished.wait(60000));
    QVERIFY2(finished.at(0).at(0).toInt() == 0, qPrintable(finished.at(0).at(1).toString()));
    QCOMPARE(reps->shownStep(), 200);
    const QImage shot = QImage(path).convertToFormat(QImage::Format_RGB32);
    QVERIFY(!shot.isNull());
    // In the point cloud's region (minus its panels), pixels in point colours: the Vulkan content.
    const QPoint origin = cloud->mapTo(&window, QPoint(0, 0)) * window.devicePixelRatio();
    const QRect region(origin, cloud->size() * window.devicePixelRatio());
    QVERIFY(QRect(QPoint(0, 0), shot.size()).contains(region));
    std::vector<QColor> palette;
    const PointAttribute& a = cloud->points().attributes[size_t(cloud->colourBy())];
    for (int l = 0; l < a.labelCount(); ++l) palette.push_back(attributeColor(a, l));
    const std::vector<QRectF> shotPanels = {cloud->panelItemRect("colour panel"), cloud->panelItemRect("view panel")};
    int pointPixels = 0, background = 0;
    for (int y = region.top(); y <= region.bottom(); ++y)
      for (int x = region.left(); x <= region.right(); ++x) {
        const QPointF logical = QPointF(x - origin.x(), y - origin.y()) / window.devicePixelRatio();
        bool underPanel = false;
        for (const QRectF& r : shotPanels) underPanel = underPanel || r.contains(logical);
        if (underPanel) continue;
        const QColor c = shot.pixelColor(x, y);
        if (near(c, PointCloudWindow::backgroundColor(), 2)) ++background;
        for (const QColor& p : palette)
          if (near(c, p, 3)) {
            ++pointPixels;
            break;
          }
      }
    // Measured: ~2,100 point-coloured pixels (800 discs of radius 3 in dense clusters) and ~95,000
    // background ones; a capture without the Vulkan content has no point-coloured pixels.
    qInfo("screenshot: %d point-coloured and %d background pixels in the cloud's region", pointPixels, background);
    QVERIFY2(pointPixels > 1000, qPrintable(QString("%1 point pixels, %2 background").arg(pointPixels).arg(background)));
    QVERIFY(background > pointPixels);  // the white Vulkan background, not a black hole
  }

  void representationsDockEmbedsTransformerTokens() {
    host_.reset();  // one window at a time on the shared display
    QTemporaryDir settings;
    RealWindow real(rl::loadPreset("tiny-transformer-moe"), settings.path());
    MainWindow& window = real.window;
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    RepresentationsView* reps = window.representationsView();
    QVERIFY(reps && reps->isVisible());
    PointCloudView* cloud = reps->cloudView();
    QVERIFY2(cloud->isVulkanAvailable(), qPrintable(cloud->unavailableReason()));
    cloud->setAnimationDuration(0);

    reps->setAutoRefresh(false, 100);
    reps->setMaxRows(605);  // 50 whole sequences of 12 tokens
    window.stepN(150);
    QVERIFY(waitFor([&] { return window.shownSnapshot() && window.shownSnapshot()->step == 150; }, 20000));
    QVERIFY(waitFor([&] { return !reps->busy(); }, 30000));
    QVERIFY(refreshAndWait(reps));
    const rl::HiddenStates& states = *reps->shownStates();
    QCOMPARE(states.sequenceLength, 12);
    QCOMPARE(states.rows, 600);
    QCOMPARE(cloud->points().size(), 600);
    QVERIFY2(reps->statusText().contains("600 tokens of 50 held-out sequences"), qPrintable(reps->statusText()));
    QVERIFY2(reps->statusText().contains("perplexity 30 ") || reps->statusText().endsWith("perplexity 30"),
             qPrintable(reps->statusText()));  // the one used, here the one asked for


    // Colour-by offers the expert at each layer, then class, task, position and token id.
    const std::vector<PointAttribute>& attributes = cloud->points().attributes;
    auto attribute = [&](const QString& name) {
      for (size_t a = 0; a < attributes.size(); ++a)
        if (attributes[a].name == name) return int(a);
      return -1;
    };
    for (const char* name : {"expert · layer 1", "expert · layer 2", "class", "task", "position", "token"})
      QVERIFY2(attribute(name) >= 0, name);
    const int task = attribute("task");
    QCOMPARE(attributes[size_t(task)].labelCount(), 3);  // #copy, #reverse, #sort
    QVERIFY(attributes[size_t(attribute("position"))].kind == PointAttribute::Kind::Ordinal);

    // By task: every point whose centre is predictable has its task's colour, and the picture
    // changed (many of those points had another colour by expert).
    QCOMPARE(cloud->colourBy(), 0);
    const PointAttribute& byExpert = attributes[0];
    cloud->setColourBy(task);
    QImage image;
    for (int i = 0; i < 3; ++i) image = cloud->grabImage();  // panels settle over a frame or two
    image = image.convertToFormat(QImage::Format_RGB32);
    if (qEnvironmentVariableIsSet("ROUTELAB_TEST_FRAMES"))  // to look at
      image.save(qEnvironmentVariable("ROUTELAB_TEST_FRAMES") + "/tokens-by-task.png");
    const std::vector<QRectF> panels = {cloud->panelItemRect("colour panel"), cloud->panelItemRect("view panel")};
    const auto points = predictablePoints(*cloud, panels, cloud->panelState().pointRadius);
    // Measured: ~320 of the 600 token points qualify (~180 of them change colour); 60 leaves margin.
    QVERIFY2(points.size() >= 60, qPrintable(QString("only %1 predictable points").arg(points.size())));
    const qreal dpr = cloud->viewportWindow()->devicePixelRatio();
    int changed = 0;
    for (const auto& [i, colour] : points) {
      const QColor got = image.pixelColor(pixelContaining(cloud->pointPixel(i) * dpr));
      QVERIFY2(near(got, colour), qPrintable(QString("point %1: %2, expected %3").arg(i).arg(got.name(), colour.name())));
      changed += !near(colour, attributeColor(byExpert, byExpert.labels[size_t(i)]));
    }
    qInfo("by task: %d of %d predictable points changed colour from by expert", changed, int(points.size()));
    QVERIFY2(changed * 4 >= int(points.size()), qPrintable(QString("%1 of %2 changed colour").arg(changed).arg(points.size())));

    // Hover a token: its sequence and position, its name, its task and the gate probabilities.
    auto [target, spacing] = mostIsolated(*cloud, points);
    QVERIFY(target >= 0 && spacing > 0.01);
    if (spacing < 4) cloud->zoomAt(cloud->pointPixel(target), 4 / spacing);
    QTest::mouseMove(cloud->viewportWindow(), cloud->pointPixel(target).toPoint());
    QVERIFY(waitFor([&] { return cloud->hoveredIndex() == target; }, 3000));
    const QString text = cloud->hoveredText();
    auto extra = [&](const std::string& name) -> const rl::RowLabels& {
      for (const rl::RowLabels& l : states.extraLabels)
        if (l.name == name) return l;
      qFatal("no extra label %s", name.c_str());
    };
    const auto& tokenNames = extra("token").names;
    const auto& taskNames = extra("task").names;
    const int token = extra("token").labels[size_t(target)], taskOf = extra("task").labels[size_t(target)],
              position = extra("position").labels[size_t(target)];
    QCOMPARE(position, target % 12);
    QVERIFY(token >= 0 && token < int(tokenNames.size()) && taskOf >= 0 && taskOf < int(taskNames.size()));
    QVERIFY2(text.contains(QString("held-out sequence %1, token %2").arg(target / 12).arg(position)) &&
                 text.contains(QString("token: %1").arg(QString::fromStdString(tokenNames[size_t(token)]))) &&
                 text.contains(QString("position: %1").arg(position)) &&
                 text.contains(QString("task: %1").arg(QString::fromStdString(taskNames[size_t(taskOf)]))) &&
                 text.contains("layer 2 gate probabilities"),
             qPrintable(text));
    // Its context: the neighbouring tokens of the same sequence, the hovered one in brackets.
    QStringList context;
    for (int t = std::max(0, position - 4); t <= std::min(11, position + 4); ++t) {
      const QString word = QString::fromStdString(tokenNames[size_t(extra("token").labels[size_t(target - position + t)])]);
      context << (t == position ? "[" + word + "]" : word);
    }
    QVERIFY2(text.contains("context: ") && text.contains(context.join(' ')), qPrintable(text));
    qInfo("hover: %s", qPrintable(text));

    // Last (it replaces the hidden states `states` refers to): the same tokens embedded again by the
    // Vulkan t-SNE (engine/tsne's compute path, a Barnes-Hut tree on lavapipe), warm-started from the
    // CPU embedding: it reports success, and every point is finite and has moved.
    const std::vector<float> before = cloud->points().xy;
    reps->setMethod(rl::tsne::Method::Vulkan);
    QVERIFY(refreshAndWait(reps, 60000));
    QVERIFY2(reps->statusText().startsWith("t-SNE (Vulkan) of 600 tokens"), qPrintable(reps->statusText()));
    QCOMPARE(cloud->points().size(), 600);
    double moved = 0;
    for (size_t i = 0; i < before.size(); ++i) {
      const float v = cloud->points().xy[i];
      QVERIFY2(std::isfinite(v), qPrintable(QString::number(i / 2)));
      moved = std::max(moved, double(std::abs(v - before[i])));
    }
    QVERIFY2(moved > 1e-2, qPrintable(QString("largest move %1").arg(moved)));
    // PCA, the fast alternative: the same 600 tokens, its own status.
    reps->setMethod(rl::tsne::Method::Pca);
    QVERIFY(refreshAndWait(reps));
    QVERIFY2(reps->statusText().startsWith("PCA of 600 tokens") && !reps->statusText().contains("perplexity"),
             qPrintable(reps->statusText()));
    QCOMPARE(cloud->points().size(), 600);
    reps->setMethod(rl::tsne::Method::Cpu);

    // A Transformer also offers the residual stream after each block, picked as a user picks it.
    auto* picker = reps->findChild<QComboBox*>();
    QVERIFY(picker);
    QStringList choices;
    for (int i = 0; i < picker->count(); ++i) choices << picker->itemText(i);
    QCOMPARE(choices, QStringList({"MoE 1 input", "MoE 1 output", "stream after block 1", "MoE 2 input", "MoE 2 output",
                                   "stream after block 2"}));
    QSignalSpy streamShown(reps, &RepresentationsView::embeddingShown);
    picker->setCurrentIndex(5);
    emit picker->activated(5);
    QVERIFY(streamShown.wait(30000));
    QCOMPARE(reps->layer(), 1);
    QCOMPARE(reps->side(), int(rl::HiddenSide::Stream));
    QCOMPARE(reps->shownStates()->side, rl::HiddenSide::Stream);
    QVERIFY2(reps->statusText().contains("600 tokens of 50 held-out sequences · stream after block 2 (32-d)"),
             qPrintable(reps->statusText()));
    if (qEnvironmentVariableIsSet("ROUTELAB_TEST_FRAMES")) {  // to look at
      cloud->setColourBy(task);
      QTest::qWait(200);  // the footer's repaint, for the window capture
      for (int i = 0; i < 3; ++i) image = cloud->grabImage();
      image.save(qEnvironmentVariable("ROUTELAB_TEST_FRAMES") + "/tokens-stream-by-task.png");
      grabWholeWindow(window).save(qEnvironmentVariable("ROUTELAB_TEST_FRAMES") + "/tokens-stream-window.png");
    }
  }

  void representationsRefreshWhilePlayingGlideAndCancel() {
    QTemporaryDir settings;
    RealWindow real(rl::loadPreset(rl::kDefaultPreset), settings.path());
    MainWindow& window = real.window;
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    RepresentationsView* reps = window.representationsView();
    PointCloudView* cloud = reps->cloudView();
    // The first picture comes by itself, for step 0.
    QVERIFY(waitFor([&] { return reps->shownStep() == 0 && !reps->busy(); }, 30000));
    QVERIFY2(!reps->statusText().contains("warm start"), qPrintable(reps->statusText()));

    // Playing with automatic refreshes every 50 steps: new embeddings of later steps arrive,
    // warm-started from the one on screen, and the points glide (same count, new positions).
    cloud->setAnimationDuration(2000);
    reps->setAutoRefresh(true, 50);
    const std::vector<float> before = cloud->points().xy;
    QSignalSpy shown(reps, &RepresentationsView::embeddingShown);
    window.setSpeed(200);
    window.play();
    QVERIFY(waitFor([&] { return shown.count() >= 2; }, 30000));
    window.pause();
    QVERIFY(shown.at(0).at(0).toInt() >= 50);
    QVERIFY(shown.at(1).at(0).toInt() > shown.at(0).at(0).toInt());
    QVERIFY2(reps->statusText().contains("warm start"), qPrintable(reps->statusText()));
    QCOMPARE(cloud->points().xy.size(), before.size());
    QVERIFY(cloud->points().xy != before);
    // Mid-glide a point is drawn between where it was and where it goes (2 s glide, checked early).
    QVERIFY(waitFor([&] { return !reps->busy(); }, 30000));
    QTest::qWait(2100);  // the last glide has ended: the points are drawn at points().xy
    const std::vector<float> from = cloud->points().xy;
    QVERIFY(refreshAndWait(reps));
    const std::vector<float>& to = cloud->points().xy;
    int moving = 0;
    for (int i = 0; i < cloud->points().size(); ++i) {
      const QPointF drawn = cloud->pixelToData(cloud->pointPixel(i));
      const QPointF a(from[2 * i], from[2 * i + 1]), b(to[2 * i], to[2 * i + 1]);
      if (QLineF(a, b).length() < 1e-3) continue;
      moving += QLineF(drawn, b).length() > 1e-4 && QLineF(drawn, a).length() + QLineF(drawn, b).length() <
                                                      QLineF(a, b).length() * 1.01 + 1e-4;
    }
    QVERIFY2(moving > 0, "no point was drawn between its old and new place");
    cloud->setAnimationDuration(0);

    // Export PNG: the viewport as drawn.
    QTemporaryDir files;
    const QString png = files.filePath("cloud.png");
    QVERIFY2(reps->exportPng(png).isEmpty(), qPrintable(reps->exportPng(png)));
    const QImage exported(png);
    QCOMPARE(exported.size(), cloud->viewportWindow()->size() * cloud->viewportWindow()->devicePixelRatio());
    // File → Export all figures writes it too.
    const QStringList errors = window.exportAllFigures(files.filePath("figures"));
    QVERIFY2(errors.isEmpty(), qPrintable(errors.join('\n')));
    QCOMPARE(QImage(files.filePath("figures/representations.png")).size(), exported.size());

    // Cancel: a long fresh t-SNE (another representation) stops early and leaves the picture.
    reps->setAutoRefresh(false, 50);
    QVERIFY(waitFor([&] { return !reps->busy(); }, 30000));
    const int step = reps->shownStep();
    const std::vector<float> kept = cloud->points().xy;
    reps->setIterations(100000, 100000);
    reps->setRepresentation(0, 0);  // MoE 1 input: no warm start from the output's embedding
    reps->refresh();
    QVERIFY(waitFor([&] { return reps->findChild<QProgressBar*>()->value() > 0; }, 30000));
    reps->cancel();
    QVERIFY(waitFor([&] { return !reps->busy(); }, 10000));
    QVERIFY2(reps->statusText().contains("cancelled"), qPrintable(reps->statusText()));
    QCOMPARE(reps->shownStep(), step);
    QVERIFY(cloud->points().xy == kept);
  }

  // The picker lists each MoE layer's input and output, and for a Transformer each block's stream;
  // a new model with as many choices of another kind gets its own list.
  void representationChoicesFollowTheModelKind() {
    RepresentationsView reps;
    auto choices = [&] {
      QStringList items;
      auto* picker = reps.findChild<QComboBox*>();
      for (int i = 0; i < picker->count(); ++i) items << picker->itemText(i);
      return items;
    };
    RunSnapshot transformer;
    transformer.spec.model.kind = rl::ModelKind::Transformer;
    transformer.layers.resize(2);
    reps.showSnapshot(transformer);
    QCOMPARE(choices(), QStringList({"MoE 1 input", "MoE 1 output", "stream after block 1", "MoE 2 input",
                                     "MoE 2 output", "stream after block 2"}));
    RunSnapshot mlp;
    mlp.layers.resize(3);  // six choices too
    reps.showSnapshot(mlp);
    QCOMPARE(choices(), QStringList({"MoE 1 input", "MoE 1 output", "MoE 2 input", "MoE 2 output", "MoE 3 input",
                                     "MoE 3 output"}));
  }

  // Options → Perplexity, Iterations (fresh) and Iterations (refresh), typed as a user types them:
  // the next t-SNE runs with them (its status line and progress bar say so), a refresh of the rows
  // on screen warm-starts with the refresh count, and the next window reads them back.
  void representationsOptionsSetPerplexityAndIterations() {
    QTemporaryDir settings;
    {
      RealWindow real(rl::loadPreset(rl::kDefaultPreset), settings.path());
      QVERIFY(QTest::qWaitForWindowExposed(&real.window));
      RepresentationsView* reps = real.window.representationsView();
      QVERIFY(waitFor([&] { return reps->shownStep() == 0 && !reps->busy(); }, 30000));  // the first picture
      reps->setAutoRefresh(false, 100);
      QVERIFY2(reps->statusText().contains("perplexity 30 · 750 iterations"), qPrintable(reps->statusText()));  // defaults

      reps->setMethod(rl::tsne::Method::Pca);  // not the menu's first item
      auto type = [&](const char* name, const char* text) {
        auto* spin = reps->findChild<QSpinBox*>(name);
        QVERIFY2(spin, name);
        spin->selectAll();
        QTest::keyClicks(spin, text);
        QTest::keyClick(spin, Qt::Key_Enter);
        QCOMPARE(spin->value(), QString(text).toInt());
      };
      type("perplexity", "12");
      type("iterations", "300");
      type("warmIterations", "60");
      // Return only commits the number: the menu does not take it as a click on its first item
      // (it used to switch the method to CPU t-SNE and refresh).
      QVERIFY(!reps->busy());
      QCOMPARE(reps->method(), rl::tsne::Method::Pca);
      auto* progress = reps->findChild<QProgressBar*>();
      QVERIFY(progress);

      // PCA has no iterations; a t-SNE after it starts afresh (nothing to warm-start from).
      QVERIFY(refreshAndWait(reps));
      QVERIFY2(reps->statusText().startsWith("PCA") && !reps->statusText().contains("iterations"),
               qPrintable(reps->statusText()));
      reps->setMethod(rl::tsne::Method::Cpu);
      QVERIFY(refreshAndWait(reps));
      QVERIFY2(reps->statusText().contains("perplexity 12 · 300 iterations") && !reps->statusText().contains("warm"),
               qPrintable(reps->statusText()));
      QCOMPARE(progress->maximum(), 300);

      QVERIFY(refreshAndWait(reps));
      QVERIFY2(reps->statusText().contains("perplexity 12 · 60 iterations (warm start)"), qPrintable(reps->statusText()));
      QCOMPARE(progress->maximum(), 60);
    }
    RealWindow next(rl::loadPreset(rl::kDefaultPreset), settings.path());
    RepresentationsView* reps = next.window.representationsView();
    QCOMPARE(reps->findChild<QSpinBox*>("perplexity")->value(), 12);
    QCOMPARE(reps->findChild<QSpinBox*>("iterations")->value(), 300);
    QCOMPARE(reps->findChild<QSpinBox*>("warmIterations")->value(), 60);
    QVERIFY(waitFor([&] { return !reps->busy(); }, 30000));
  }
};

QTEST_MAIN(PointCloudTest)
#include "test_point_cloud.moc"
