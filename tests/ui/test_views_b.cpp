// RoutingView and InputMapView: synthetic snapshots with known values check what the views hold
// (heatmap cells and grouping, matrix normalisation, map cells and colours, boundary, tooltip,
// the not-2-D note, exports); snapshots from a trained Session check the real pictures, which are
// grabbed to PNG (and copied to $ROUTELAB_VIEWS_B_SHOTS when set, to look at them).
#include <QDir>
#include <QFile>
#include <QImage>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <qcustomplot.h>

#include "backend/factory.h"
#include "spec/presets.h"
#include "train/session.h"
#include "views/input_map_view.h"
#include "views/plot_style.h"
#include "views/routing_view.h"

using namespace rl;
using namespace rl::ui;

namespace {

// Six probe rows, three experts, two classes; the expected display order is worked out by hand:
// class 0 = rows {1, 3, 4}: row 4 (top expert 0, p 0.9), row 1 (top 0, p 0.6), row 3 (top 2);
// class 1 = rows {0, 2, 5}: row 2 (top 0), row 0 (top 1), row 5 (top 2).
const std::vector<float> kProbs = {0.1f, 0.7f, 0.2f,  0.6f, 0.3f, 0.1f,   0.8f, 0.1f,  0.1f,
                                   0.2f, 0.2f, 0.6f,  0.9f, 0.05f, 0.05f, 0.3f, 0.3f, 0.4f};
const std::vector<int32_t> kLabels = {1, 0, 1, 0, 0, 1};
const std::vector<int> kExpectedOrder = {4, 1, 3, 2, 0, 5};

ProbeLayer probeLayer(int experts, int k, const std::vector<float>& probs) {
  ProbeLayer L;
  L.experts = experts;
  L.k = k;
  L.probs = probs;
  const int rows = static_cast<int>(probs.size()) / experts;
  for (int r = 0; r < rows; ++r) {
    std::vector<int> order(experts);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return probs[r * experts + a] > probs[r * experts + b]; });
    for (int j = 0; j < k; ++j) {
      L.idx.push_back(order[j]);
      L.wt.push_back(probs[r * experts + order[j]]);
      L.slot.push_back(j);
    }
  }
  return L;
}

RunSnapshot smallSnapshot() {
  RunSnapshot s;
  s.step = 42;
  s.classes = 2;
  s.spec.data.kind = "spiral";
  s.probe.rows = 6;
  s.probe.labels = kLabels;
  // Points on a diagonal, 0.4 apart; predictions: rows 1 and 3 predicted wrong.
  for (int r = 0; r < 6; ++r) {
    s.probe.x.push_back(-1.0f + 0.4f * r);
    s.probe.x.push_back(-1.0f + 0.4f * r);
    const int predicted = (r == 1 || r == 3) ? 1 - kLabels[r] : kLabels[r];
    s.probe.prediction.push_back(predicted == 0 ? 2.0f : -1.0f);
    s.probe.prediction.push_back(predicted == 1 ? 2.0f : -1.0f);
  }
  s.probe.layers.push_back(probeLayer(3, 2, kProbs));
  s.layers.push_back({RouterType::TopK, 3, 2, 0});
  s.latestEval.classExpertCounts = {{{30, 10, 0}, {5, 5, 10}}};

  // 4 × 4 map over [-1.2, 1.2]²: top expert = ix % 3, class 0 left of the middle, 1 right of it.
  InputMap& m = s.inputMap;
  m.resolution = 4;
  m.xMin = m.yMin = -1.2;
  m.xMax = m.yMax = 1.2;
  m.topExpert.resize(1);
  for (int iy = 0; iy < 4; ++iy)
    for (int ix = 0; ix < 4; ++ix) {
      m.topExpert[0].push_back(ix % 3);
      m.predictedClass.push_back(ix < 2 ? 0 : 1);
    }
  return s;
}

// A frame of the size the live app shows: 512 probe rows, 8 experts, 4 classes, 64 × 64 map;
// `phase` shifts every value so consecutive frames differ.
RunSnapshot largeSnapshot(int phase) {
  const int rows = 512, experts = 8, classes = 4, res = 64;
  RunSnapshot s;
  s.step = 1000 + phase;
  s.classes = classes;
  s.spec.data.kind = "spiral4";
  s.probe.rows = rows;
  std::vector<float> probs;
  for (int r = 0; r < rows; ++r) {
    s.probe.labels.push_back(r % classes);
    s.probe.x.push_back(std::cos(r * 0.1f) * r / rows);
    s.probe.x.push_back(std::sin(r * 0.1f) * r / rows);
    float total = 0;
    std::vector<float> p(experts);
    for (int e = 0; e < experts; ++e) total += p[e] = 1.0f + std::sin(0.37f * r + 1.3f * e + 0.1f * phase);
    for (float v : p) probs.push_back(v / total);
    for (int c = 0; c < classes; ++c) s.probe.prediction.push_back(c == r % classes ? 1.0f : 0.0f);
  }
  s.probe.layers.push_back(probeLayer(experts, 2, probs));
  s.layers.push_back({RouterType::TopK, experts, 2, 0});
  s.latestEval.classExpertCounts.assign(1, std::vector<std::vector<double>>(classes, std::vector<double>(experts, 1.0 + phase % 3)));
  InputMap& m = s.inputMap;
  m.resolution = res;
  m.xMin = m.yMin = -1.1;
  m.xMax = m.yMax = 1.1;
  m.topExpert.resize(1);
  for (int iy = 0; iy < res; ++iy)
    for (int ix = 0; ix < res; ++ix) {
      const double angle = std::atan2(iy - res / 2.0, ix - res / 2.0) + 0.05 * phase;
      m.topExpert[0].push_back(static_cast<int>((angle + M_PI) / (2 * M_PI) * experts) % experts);
      m.predictedClass.push_back(((ix + phase) / 16 + iy / 16) % classes);
    }
  return s;
}

// The input plane as the app computes it: cell centres of a res × res grid over the data's
// bounding box plus 10%, through the model in evaluation mode.
InputMap gridMap(Session& session, int res) {
  const DataSplit& d = session.data();
  double x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
  for (const Dataset* set : {&d.train, &d.test})
    for (size_t r = 0; r < set->size(); ++r) {
      x0 = std::min<double>(x0, set->x[r * 2]), x1 = std::max<double>(x1, set->x[r * 2]);
      y0 = std::min<double>(y0, set->x[r * 2 + 1]), y1 = std::max<double>(y1, set->x[r * 2 + 1]);
    }
  InputMap m;
  m.resolution = res;
  m.xMin = x0 - 0.1 * (x1 - x0), m.xMax = x1 + 0.1 * (x1 - x0);
  m.yMin = y0 - 0.1 * (y1 - y0), m.yMax = y1 + 0.1 * (y1 - y0);
  std::vector<float> x;
  for (int iy = 0; iy < res; ++iy)
    for (int ix = 0; ix < res; ++ix) {
      x.push_back(static_cast<float>(m.xMin + (ix + 0.5) * (m.xMax - m.xMin) / res));
      x.push_back(static_cast<float>(m.yMin + (iy + 0.5) * (m.yMax - m.yMin) / res));
    }
  const Probe p = session.predict(x, std::vector<int32_t>(res * res, 0));
  for (const ProbeLayer& L : p.layers) {
    std::vector<int> top;
    for (int c = 0; c < res * res; ++c)
      top.push_back(static_cast<int>(std::max_element(&L.probs[c * L.experts], &L.probs[c * L.experts] + L.experts) -
                                     &L.probs[c * L.experts]));
    m.topExpert.push_back(top);
  }
  const int out = d.test.outputDim;
  if (!d.test.regression)
    for (int c = 0; c < res * res; ++c)
      m.predictedClass.push_back(static_cast<int>(std::max_element(&p.prediction[c * out], &p.prediction[c * out] + out) -
                                                  &p.prediction[c * out]));
  m.prediction = p.prediction;
  return m;
}

RunSnapshot trainedSnapshot(Spec spec, int steps) {
  Session session(spec, createBackend(BackendChoice::Cpu));
  StepMetrics last;
  for (int i = 0; i < steps; ++i) last = session.step();
  RunSnapshot s;
  s.spec = session.spec();
  s.step = session.stepCount();
  s.latest = last;
  s.latestEval = session.evaluate();
  s.probe = session.probe();
  s.classes = session.data().test.regression ? 0 : session.data().test.outputDim;
  for (const ProbeLayer& L : s.probe.layers) s.layers.push_back({RouterType::TopK, L.experts, L.k, 0});
  s.inputMap = gridMap(session, 64);
  return s;
}

// Fraction of pixels that are not (near) white: a blank or empty figure scores ~0.
double inkFraction(const QImage& image) {
  qint64 ink = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x)
      if (qGray(image.pixel(x, y)) < 235) ++ink;
  return double(ink) / (qint64(image.width()) * image.height());
}

// Saves a grab of the view; copies it to $ROUTELAB_VIEWS_B_SHOTS when set (for looking at it).
QImage grabView(QWidget& view, const QString& name) {
  QCoreApplication::processEvents();
  for (QCustomPlot* plot : view.findChildren<QCustomPlot*>()) plot->replot(QCustomPlot::rpImmediateRefresh);
  const QImage image = view.grab().toImage();
  const QString dir = qEnvironmentVariable("ROUTELAB_VIEWS_B_SHOTS");
  if (!dir.isEmpty()) {
    QDir().mkpath(dir);
    image.save(dir + "/" + name + ".png");
  }
  return image;
}

QStringList legendNames(QWidget& view) {
  QStringList names;
  QCPLegend* legend = view.findChild<QCustomPlot*>()->legend;
  for (int i = 0; i < legend->itemCount(); ++i)
    if (auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i))) names << item->plottable()->name();
  return names;
}

// With $ROUTELAB_VIEWS_B_SHOTS set: the view's SVG and PDF exports, and the SVG rendered back to
// PNG by QSvgRenderer, to look at what the vector export holds.
void exportForLooking(FigureView& view, const QString& name) {
  const QString dir = qEnvironmentVariable("ROUTELAB_VIEWS_B_SHOTS");
  if (dir.isEmpty()) return;
  QVERIFY(view.exportFigure(dir + "/" + name + ".svg").isEmpty());
  QVERIFY(view.exportFigure(dir + "/" + name + ".pdf").isEmpty());
  QSvgRenderer svg(dir + "/" + name + ".svg");
  QImage image(view.size(), QImage::Format_ARGB32);
  image.fill(Qt::white);
  QPainter painter(&image);
  svg.render(&painter);
  painter.end();
  image.save(dir + "/" + name + "_svg.png");
}

}  // namespace

class TestViewsB : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    Spec spiral = loadPreset("spiral-moe");
    spiral_ = trainedSnapshot(spiral, 600);
    Spec twoLayers = spiral;
    twoLayers.model.layers.push_back(spiral.model.layers[0]);
    twoLayers.model.layers[1].experts = 4;
    twoLayers_ = trainedSnapshot(twoLayers, 300);
    regression_ = trainedSnapshot(loadPreset("local-experts-regression"), 400);
  }

  void heatmapGroupsRowsByClassThenTopExpert() {
    RoutingView view;
    view.showSnapshot(smallSnapshot());
    QCOMPARE(view.heatmapRows(), 6);
    QCOMPARE(view.heatmapColumns(), 3);
    for (int row = 0; row < 6; ++row) {
      QCOMPARE(view.heatmapRowSource(row), kExpectedOrder[row]);
      QCOMPARE(view.heatmapRowClass(row), kLabels[kExpectedOrder[row]]);
      for (int e = 0; e < 3; ++e) QCOMPARE(view.heatmapValue(row, e), double(kProbs[kExpectedOrder[row] * 3 + e]));
    }
    QCOMPARE(view.heatmapGroupStarts(), (std::vector<int>{0, 3}));
    QVERIFY(std::isnan(view.heatmapValue(6, 0)));
    QCOMPARE(view.layerCount(), 1);
  }

  void matrixNormalisesEachClassRow() {
    RoutingView view;
    view.showSnapshot(smallSnapshot());
    QVERIFY(view.matrixShown());
    QCOMPARE(view.matrixClasses(), 2);
    QCOMPARE(view.matrixExperts(), 3);
    const double expected[2][3] = {{0.75, 0.25, 0.0}, {0.25, 0.25, 0.5}};
    const char* text[2][3] = {{"75%", "25%", "0%"}, {"25%", "25%", "50%"}};
    for (int c = 0; c < 2; ++c)
      for (int e = 0; e < 3; ++e) {
        QCOMPARE(view.matrixValue(c, e), expected[c][e]);
        QCOMPARE(view.matrixCellText(c, e), QString(text[c][e]));
      }
  }

  void regressionKeepsDataOrderAndHidesMatrix() {
    RoutingView view;
    RunSnapshot s = smallSnapshot();
    s.classes = 0;
    view.showSnapshot(s);
    QCOMPARE(view.heatmapRows(), 6);
    for (int row = 0; row < 6; ++row) {
      QCOMPARE(view.heatmapRowSource(row), row);
      QCOMPARE(view.heatmapRowClass(row), -1);
      QCOMPARE(view.heatmapValue(row, 1), double(kProbs[row * 3 + 1]));
    }
    QVERIFY(view.heatmapGroupStarts().empty());
    QVERIFY(!view.matrixShown());
    QCOMPARE(view.matrixClasses(), 0);
    QVERIFY(view.matrixNote().contains("no classes"));
  }

  void matrixWaitsForTheFirstEvaluation() {
    RoutingView view;
    RunSnapshot s = smallSnapshot();
    s.latestEval.classExpertCounts.clear();
    view.showSnapshot(s);
    QVERIFY(!view.matrixShown());
    QVERIFY(view.matrixNote().contains("evaluation"));
    QCOMPARE(view.heatmapRows(), 6);  // the heatmap does not wait for it
  }

  void inputMapCellsCarryTopExpertInItsColour() {
    InputMapView view;
    view.showSnapshot(smallSnapshot());
    QVERIFY(!view.showsNote());
    QCOMPARE(view.mapResolution(), 4);
    for (int iy = 0; iy < 4; ++iy)
      for (int ix = 0; ix < 4; ++ix) {
        QCOMPARE(view.mapCellValue(ix, iy), ix % 3);
        const QColor drawn = view.mapCellColor(ix, iy), expert = expertColor(ix % 3);
        QVERIFY2(std::abs(drawn.red() - expert.red()) <= 3 && std::abs(drawn.green() - expert.green()) <= 3 &&
                     std::abs(drawn.blue() - expert.blue()) <= 3,
                 qPrintable(QString("cell %1,%2 drawn %3, expert colour %4").arg(ix).arg(iy).arg(drawn.name(), expert.name())));
        QVERIFY(drawn.alpha() > 60 && drawn.alpha() < 200);  // semi-transparent
      }
    QCOMPARE(view.mapCellValue(4, 0), -1);
    QCOMPARE(view.pointCount(), 6);
    // The legend names each expert's share of the plane (columns 0 and 3 are expert 0's).
    const QStringList legend = legendNames(view);
    QVERIFY2(legend.contains("expert 0 · 50% of plane") && legend.contains("expert 2 · 25% of plane") &&
                 legend.contains("decision boundary") && legend.contains("class 1"),
             qPrintable(legend.join(" | ")));
    // Class 0 on the left two columns, class 1 on the right: one straight boundary, one segment
    // per square of cell centres along it (3 of them).
    QCOMPARE(view.boundarySegments(), 3);
  }

  void colourByClassFillsPredictedClasses() {
    InputMapView view;
    view.showSnapshot(smallSnapshot());
    view.setColourByClass(true);
    QVERIFY(view.colourByClass());
    for (int ix = 0; ix < 4; ++ix) {
      QCOMPARE(view.mapCellValue(ix, 2), ix < 2 ? 0 : 1);
      QCOMPARE(view.mapCellColor(ix, 2).rgb(), classColor(ix < 2 ? 0 : 1).rgb());
    }
    view.setColourByClass(false);
    QCOMPARE(view.mapCellValue(2, 0), 2);
  }

  void tooltipNamesClassPredictionAndChosenExperts() {
    InputMapView view;
    view.showSnapshot(smallSnapshot());
    // Row 0 at (-1, -1): class 1, predicted 1; probabilities 0.1 / 0.7 / 0.2, top-2 = {1, 2}.
    const QString tip = view.tooltipAt(QPointF(-0.99, -1.01));
    QVERIFY2(tip.contains("Probe point 0"), qPrintable(tip));
    QVERIFY2(tip.contains("class 1 · predicted 1 (correct)"), qPrintable(tip));
    QVERIFY2(tip.contains("● expert 1: 0.700"), qPrintable(tip));
    QVERIFY2(tip.contains("● expert 2: 0.200"), qPrintable(tip));
    QVERIFY2(tip.contains("   expert 0: 0.100"), qPrintable(tip));
    QVERIFY2(tip.indexOf("expert 1") < tip.indexOf("expert 2"), qPrintable(tip));  // most probable first
    // Row 1 at (-0.6, -0.6) is predicted wrong.
    QVERIFY(view.tooltipAt(QPointF(-0.6, -0.6)).contains("class 0 · predicted 1 (wrong)"));
    // Far from every point: nothing.
    QVERIFY(view.tooltipAt(QPointF(0.9, -0.9)).isEmpty());
  }

  void hoveringAPointShowsItsTooltip() {
    InputMapView view;
    view.resize(700, 560);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.showSnapshot(smallSnapshot());
    auto* plot = view.findChild<QCustomPlot*>();
    plot->replot(QCustomPlot::rpImmediateRefresh);
    // Row 2 sits at (-0.2, -0.2); move the mouse a pixel away from it.
    const QPoint pixel(qRound(plot->xAxis->coordToPixel(-0.2)) + 1, qRound(plot->yAxis->coordToPixel(-0.2)));
    QTest::mouseMove(plot, pixel);
    QTRY_VERIFY(QToolTip::isVisible());
    QVERIFY2(QToolTip::text().startsWith("Probe point 2 at (-0.20, -0.20)"), qPrintable(QToolTip::text()));
    QCOMPARE(QToolTip::text(), view.tooltipAt(QPointF(-0.2, -0.2)));
    QTest::mouseMove(plot, QPoint(qRound(plot->xAxis->coordToPixel(0.9)), qRound(plot->yAxis->coordToPixel(-0.9))));
    QTRY_VERIFY(!QToolTip::isVisible());
  }

  void hiddenViewsKeepDataButDoNotReplot() {
    RoutingView routing;
    InputMapView map;
    QCoreApplication::processEvents();  // QCustomPlot queues a first replot of its own when built
    int replots = 0;
    for (QCustomPlot* plot : routing.findChildren<QCustomPlot*>() + map.findChildren<QCustomPlot*>())
      connect(plot, &QCustomPlot::afterReplot, this, [&replots] { ++replots; });
    routing.showSnapshot(smallSnapshot());
    map.showSnapshot(smallSnapshot());
    QCoreApplication::processEvents();
    QCOMPARE(replots, 0);
    QCOMPARE(routing.heatmapRows(), 6);  // the data is there for accessors and exports
    QCOMPARE(map.mapResolution(), 4);
    routing.show();
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    QTRY_VERIFY(replots >= 3);  // heatmap, matrix and map drawn once shown
  }

  void notTwoDimensionalShowsANote() {
    InputMapView view;
    RunSnapshot s = smallSnapshot();
    s.spec.data.kind = "vowels";
    s.inputMap = InputMap{};
    s.probe.x.assign(6 * 3, 0.5f);  // three input features
    view.showSnapshot(s);
    QVERIFY(view.showsNote());
    QCOMPARE(view.mapResolution(), 0);
    QCOMPARE(view.pointCount(), 0);
    QVERIFY2(view.noteText().contains("needs a 2-D dataset") && view.noteText().contains("3 input features"),
             qPrintable(view.noteText()));
    QVERIFY(view.tooltipAt(QPointF(0.5, 0.5)).isEmpty());
    // A 2-D snapshot afterwards replaces the note with the map.
    view.showSnapshot(smallSnapshot());
    QVERIFY(!view.showsNote());
    QCOMPARE(view.mapResolution(), 4);
  }

  void exportsWritePngSvgPdf() {
    QTemporaryDir dir;
    RoutingView routing;
    InputMapView map;
    routing.resize(900, 480);
    map.resize(700, 560);
    routing.show();
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    routing.showSnapshot(smallSnapshot());
    map.showSnapshot(smallSnapshot());
    for (FigureView* view : {static_cast<FigureView*>(&routing), static_cast<FigureView*>(&map)}) {
      for (const QString suffix : {"png", "svg", "pdf"}) {
        const QString path = dir.filePath(view->title() + "." + suffix);
        QCOMPARE(view->exportFigure(path), QString());
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray bytes = file.readAll();
        QVERIFY2(bytes.size() > 2000, qPrintable(path));
        if (suffix == "png") {
          const QImage image(path);
          QCOMPARE(image.size(), view->size() * 2);
          QVERIFY2(inkFraction(image) > 0.05, qPrintable(path));
        } else if (suffix == "svg") {
          // Vector: the texts are there as text, not pixels.
          QVERIFY(bytes.contains("<svg"));
          QVERIFY2(bytes.contains(view == &routing ? "class 1" : "expert 2"), qPrintable(path));
        } else {
          QVERIFY(bytes.startsWith("%PDF"));
        }
      }
    }
  }

  void unchangedSnapshotsAreNotRedrawn() {
    // The frame tick hands the views the same snapshot while training is paused: no replot then.
    // (Frame cost is measured by `routelab --measure`, not timed here.)
    RoutingView routing;
    InputMapView map;
    routing.resize(900, 480);
    map.resize(700, 560);
    routing.show();
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    const RunSnapshot frame = largeSnapshot(0);
    routing.showSnapshot(frame);
    map.showSnapshot(frame);
    QCOMPARE(routing.heatmapRows(), 512);
    QCOMPARE(map.mapResolution(), 64);
    QCoreApplication::processEvents();
    int replots = 0;
    for (QCustomPlot* plot : routing.findChildren<QCustomPlot*>() + map.findChildren<QCustomPlot*>())
      connect(plot, &QCustomPlot::afterReplot, this, [&replots] { ++replots; });
    for (int i = 0; i < 5; ++i) {
      routing.showSnapshot(frame);
      map.showSnapshot(frame);
      QCoreApplication::processEvents();
    }
    QCOMPARE(replots, 0);
    routing.showSnapshot(largeSnapshot(1));
    map.showSnapshot(largeSnapshot(1));
    QTRY_VERIFY(replots >= 2);  // new data is drawn
  }

  void trainedSpiralRouting() {
    RoutingView view;
    view.resize(1100, 560);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.showSnapshot(spiral_);
    const Probe& probe = spiral_.probe;
    QCOMPARE(view.heatmapRows(), probe.rows);
    QCOMPARE(view.heatmapColumns(), 8);
    QCOMPARE(int(view.heatmapGroupStarts().size()), 4);
    for (int row = 0; row < view.heatmapRows(); row += 37) {
      double sum = 0;
      for (int e = 0; e < 8; ++e) {
        QCOMPARE(view.heatmapValue(row, e), double(probe.layers[0].probs[view.heatmapRowSource(row) * 8 + e]));
        sum += view.heatmapValue(row, e);
      }
      QVERIFY2(std::abs(sum - 1) < 1e-3, "gate probabilities of a row sum to 1");
      QCOMPARE(view.heatmapRowClass(row), probe.labels[view.heatmapRowSource(row)]);
    }
    QCOMPARE(view.matrixClasses(), 4);
    for (int c = 0; c < 4; ++c) {
      double sum = 0;
      for (int e = 0; e < 8; ++e) sum += view.matrixValue(c, e);
      QVERIFY(std::abs(sum - 1) < 1e-9);
    }
    QVERIFY(inkFraction(grabView(view, "routing_spiral")) > 0.2);
    exportForLooking(view, "routing_spiral_export");
  }

  void trainedSpiralInputMap() {
    InputMapView view;
    view.resize(820, 640);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.showSnapshot(spiral_);
    QCOMPARE(view.mapResolution(), 64);
    QCOMPARE(view.pointCount(), spiral_.probe.rows);
    for (int c = 0; c < 64 * 64; c += 97) QCOMPARE(view.mapCellValue(c % 64, c / 64), spiral_.inputMap.topExpert[0][c]);
    QVERIFY2(view.boundarySegments() > 50, "a trained 4-arm spiral has long decision boundaries");
    // Hovering the first probe point names its class and the two experts the router chose.
    const QPointF first(spiral_.probe.x[0], spiral_.probe.x[1]);
    const QString tip = view.tooltipAt(first);
    QVERIFY2(tip.startsWith("Probe point ") && tip.contains(QString("class %1 ·").arg(spiral_.probe.labels[0])), qPrintable(tip));
    QCOMPARE(int(tip.count("●")), 1 + 2);  // the legend line, then two chosen experts
    QVERIFY(inkFraction(grabView(view, "input_map_spiral")) > 0.3);
    exportForLooking(view, "input_map_spiral_export");
    view.setColourByClass(true);
    QVERIFY(inkFraction(grabView(view, "input_map_spiral_by_class")) > 0.3);
  }

  void layerSelectorSwitchesLayers() {
    RoutingView routing;
    InputMapView map;
    routing.resize(1100, 560);
    map.resize(820, 640);
    routing.show();
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    routing.showSnapshot(twoLayers_);
    map.showSnapshot(twoLayers_);
    QCOMPARE(routing.layerCount(), 2);
    QCOMPARE(map.layerCount(), 2);
    QCOMPARE(routing.heatmapColumns(), 8);
    routing.setCurrentLayer(1);
    map.setCurrentLayer(1);
    QCOMPARE(routing.heatmapColumns(), 4);
    QCOMPARE(routing.matrixExperts(), 4);
    const ProbeLayer& second = twoLayers_.probe.layers[1];
    for (int row = 0; row < routing.heatmapRows(); row += 53)
      for (int e = 0; e < 4; ++e)
        QCOMPARE(routing.heatmapValue(row, e), double(second.probs[routing.heatmapRowSource(row) * 4 + e]));
    for (int c = 0; c < 64 * 64; c += 131) QCOMPARE(map.mapCellValue(c % 64, c / 64), twoLayers_.inputMap.topExpert[1][c]);
    QVERIFY(map.tooltipAt(QPointF(twoLayers_.probe.x[0], twoLayers_.probe.x[1])).contains("MoE layer 2"));
    grabView(routing, "routing_two_layers_layer2");
    grabView(map, "input_map_two_layers_layer2");
  }

  void trainedRegression() {
    RoutingView routing;
    InputMapView map;
    routing.resize(1100, 560);
    map.resize(820, 640);
    routing.show();
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    routing.showSnapshot(regression_);
    map.showSnapshot(regression_);
    QVERIFY(!routing.matrixShown());
    QVERIFY(routing.heatmapGroupStarts().empty());
    QCOMPARE(map.mapResolution(), 64);
    QCOMPARE(map.boundarySegments(), 0);  // no classes, no decision boundary
    QVERIFY(!map.colourByClass());
    QVERIFY(map.tooltipAt(QPointF(regression_.probe.x[0], regression_.probe.x[1])).contains("prediction"));
    grabView(routing, "routing_regression");
    grabView(map, "input_map_regression");
  }

 private:
  RunSnapshot spiral_, twoLayers_, regression_;
};

QTEST_MAIN(TestViewsB)
#include "test_views_b.moc"
