// LossView, LoadView and CollapseView: what they hold for synthetic snapshots, the timeline's
// rewind/fork signals, PNG/SVG/PDF export, frame time, and a real switch-collapse run.
// Set ROUTELAB_VIEWS_A_SHOTS=DIR to also save grabbed PNGs of the views for a person to look at.
#include <QAction>
#include <QFile>
#include <QImage>
#include <QMenu>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QtTest>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "backend/factory.h"
#include "graph/builder.h"
#include "metrics/routing_metrics.h"
#include "run/run_snapshot.h"
#include "spec/presets.h"
#include "train/session.h"
#include "views/collapse_view.h"
#include "views/load_view.h"
#include "views/loss_view.h"
#include "views/plot_style.h"

using namespace rl;
using namespace rl::ui;

namespace {

const double kNaN = std::nan("");

// Lets the test open the timeline's context menu entries without a blocking QMenu::exec.
class TimelineLossView : public LossView {
 public:
  using LossView::addContextActions;
};

HistoryPoint::Layer layerFrom(const std::vector<float>& load, const std::vector<float>& importance) {
  HistoryPoint::Layer l;
  l.load = load;
  l.importance = importance;
  l.loadEntropy = normalisedLoadEntropy(load);
  l.cv = coefficientOfVariation(load);
  l.maxShare = maxShare(load);
  l.routerEntropy = 0.5;
  l.mutualInformation = kNaN;
  return l;
}

// A classification run of `steps` steps over `experts` experts, evaluated every 10 steps, with a
// snapshot every 50 steps. Expert E-1 gets nothing from step `starveFrom` on.
RunSnapshot synthetic(int steps, int experts = 4, int starveFrom = 1 << 30) {
  RunSnapshot s;
  s.spec.name = "synthetic";
  s.spec.train.batchSize = 128;
  s.classes = 2;
  s.layers.push_back({RouterType::TopK, experts, 2, 40});
  for (int t = 1; t <= steps; ++t) {
    HistoryPoint h;
    h.step = t;
    h.taskLoss = 1.0 / (1.0 + 0.02 * t) + 0.05 * std::sin(t);  // noisy and decreasing
    h.loss = h.taskLoss + 0.01;
    h.accuracy = std::min(0.99, 0.5 + 0.002 * t);
    const bool evaluated = t % 10 == 0;
    h.evalLoss = evaluated ? 1.1 / (1.0 + 0.02 * t) : kNaN;
    h.evalAccuracy = evaluated ? std::min(0.98, 0.48 + 0.002 * t) : kNaN;
    std::vector<float> load(size_t(experts), 1.0f / experts);
    if (t >= starveFrom) {
      load.back() = 0;
      for (int e = 0; e + 1 < experts; ++e) load[size_t(e)] = 1.0f / (experts - 1);
    }
    h.layers.push_back(layerFrom(load, load));
    h.layers.back().mutualInformation = evaluated ? 0.3 : kNaN;
    s.history.push_back(h);
    if (t % 50 == 0) s.snapshotSteps.push_back(t);
  }
  s.step = steps;
  s.latest.step = steps;
  MoeMetrics latest;
  latest.load = {0.4f, 0.3f, 0.2f, 0.1f};
  latest.load.resize(size_t(experts), 0.0f);
  latest.importance = {0.35f, 0.3f, 0.2f, 0.15f};
  latest.importance.resize(size_t(experts), 0.0f);
  latest.dropped = 0.03f;
  s.latest.moe.push_back(latest);
  s.collapse.push_back({});
  return s;
}

// Trains a preset on the CPU backend and records what the controller would publish.
RunSnapshot trainPreset(const std::string& preset, int steps, uint64_t seed = 1) {
  Spec spec = loadPreset(preset);
  spec.train.seed = seed;
  Session session(spec, createBackend(BackendChoice::Cpu));
  RunSnapshot s;
  s.spec = spec;
  s.backendName = "cpu";
  for (const LayerSpec& l : spec.model.layers) {
    if (l.type != LayerType::Moe) continue;
    const int cap = l.router.capacityFactor > 0 && l.router.type != RouterType::Dense
                        ? expertCapacity(l.router, l.experts, spec.train.batchSize) : 0;
    s.layers.push_back({l.router.type, l.experts, effectiveK(l.router, l.experts), cap});
  }
  std::vector<CollapseDetector> detectors(s.layers.size());
  for (int t = 0; t < steps; ++t) {
    StepMetrics m = session.step();
    HistoryPoint h;
    h.step = m.step;
    h.loss = m.loss, h.taskLoss = m.taskLoss, h.accuracy = m.accuracy, h.gradNorm = m.gradNorm;
    h.evalLoss = kNaN, h.evalAccuracy = kNaN;
    for (size_t l = 0; l < m.moe.size(); ++l) {
      HistoryPoint::Layer hl = layerFrom(m.moe[l].load, m.moe[l].importance);
      hl.routerEntropy = m.moe[l].routerEntropy, hl.dropped = m.moe[l].dropped;
      hl.auxLoss = m.moe[l].auxLoss, hl.zLoss = m.moe[l].zLoss;
      h.layers.push_back(hl);
      detectors[l].add(m.step, m.moe[l].load);
    }
    if (m.step % 20 == 0 || t == steps - 1) {
      EvalMetrics ev = session.evaluate();
      h.evalLoss = ev.loss, h.evalAccuracy = ev.accuracy;
      for (size_t l = 0; l < h.layers.size() && l < ev.classExpertCounts.size(); ++l)
        h.layers[l].mutualInformation = normalisedMutualInformation(ev.classExpertCounts[l]);
      s.latestEval = ev;
    }
    if (m.step % 50 == 0) s.snapshotSteps.push_back(m.step);
    s.history.push_back(std::move(h));
    s.latest = std::move(m);
  }
  s.step = session.stepCount();
  for (const CollapseDetector& d : detectors) s.collapse.push_back(d.verdict());
  return s;
}

// Realistic batch-to-batch noise on every load vector (deterministic; a starved expert stays at 0).
void addLoadNoise(RunSnapshot& s) {
  uint32_t state = 12345;
  auto noise = [&state] {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) / double(1 << 24) - 0.5;
  };
  for (HistoryPoint& h : s.history) {
    for (HistoryPoint::Layer& l : h.layers) {
      double total = 0;
      for (float& x : l.load) total += (x = x > 0 ? float(x * (1 + 0.6 * noise())) : 0.0f);
      for (float& x : l.load) x = float(x / total);
      l.loadEntropy = normalisedLoadEntropy(l.load);
      l.cv = coefficientOfVariation(l.load);
      l.maxShare = maxShare(l.load);
      l.routerEntropy = 0.5 + 0.1 * noise();
    }
  }
}

void showAt(QWidget& w, const QSize& size) {
  w.resize(size);
  w.show();
  QVERIFY(QTest::qWaitForWindowExposed(&w));
  QCoreApplication::processEvents();  // queued replots lay the plots out
}

// Saves a grab for people to look at when ROUTELAB_VIEWS_A_SHOTS names a folder.
void saveShot(QWidget& w, const QString& name) {
  const QString dir = qEnvironmentVariable("ROUTELAB_VIEWS_A_SHOTS");
  if (dir.isEmpty()) return;
  QDir().mkpath(dir);
  QCoreApplication::processEvents();
  QVERIFY(w.grab().save(dir + "/" + name + ".png"));
}

int nonWhitePixels(const QImage& image) {
  int n = 0;
  for (int y = 0; y < image.height(); y += 2)
    for (int x = 0; x < image.width(); x += 2) n += (image.pixel(x, y) & 0xffffff) != 0xffffff;
  return n;
}

}  // namespace

class TestViewsA : public QObject {
  Q_OBJECT

 private slots:
  void lossViewHoldsTrainEvalAndSnapshots() {
    LossView view;
    view.setSmoothingSteps(0);
    const RunSnapshot s = synthetic(200);
    view.showSnapshot(s);
    QCOMPARE(view.trainPointCount(), 200);
    QCOMPARE(view.evalPointCount(), 20);
    QCOMPARE(view.accuracyPointCount(), 200);
    QCOMPARE(view.snapshotMarkerCount(), 4);
    QVERIFY(view.accuracyVisible());
    QCOMPARE(view.trainLossValue(17), s.history[17].taskLoss);  // unsmoothed: the raw value

    // Smoothing pulls each point towards its past: strictly inside the raw range, and calmer.
    view.setSmoothingSteps(20);
    QCOMPARE(view.trainPointCount(), 200);
    double rawJump = 0, smoothJump = 0;
    for (int i = 100; i < 199; ++i) {
      rawJump += std::abs(s.history[size_t(i + 1)].taskLoss - s.history[size_t(i)].taskLoss);
      smoothJump += std::abs(view.trainLossValue(i + 1) - view.trainLossValue(i));
    }
    QVERIFY2(smoothJump < 0.3 * rawJump, qPrintable(QString("%1 vs %2").arg(smoothJump).arg(rawJump)));
  }

  void lossViewHidesAccuracyForRegression() {
    LossView view;
    RunSnapshot s = synthetic(50);
    for (HistoryPoint& h : s.history) h.accuracy = kNaN, h.evalAccuracy = kNaN;
    view.showSnapshot(s);
    QVERIFY(!view.accuracyVisible());
    QCOMPARE(view.accuracyPointCount(), 0);
    QCOMPARE(view.trainPointCount(), 50);
    view.showSnapshot(synthetic(50));  // back to classification
    QVERIFY(view.accuracyVisible());
    QCOMPARE(view.accuracyPointCount(), 50);
  }

  void lossViewOverlaysComparisons() {
    LossView view;
    RunSnapshot s = synthetic(120);
    s.comparisons.push_back({"run 1 (forked at step 50)", synthetic(100).history});
    s.comparisons.push_back({"run 2 (forked at step 100)", synthetic(80).history});
    view.showSnapshot(s);
    QCOMPARE(view.comparisonCurveCount(), 4);  // loss and accuracy of each
    s.comparisons.clear();
    view.showSnapshot(s);
    QCOMPARE(view.comparisonCurveCount(), 0);
  }

  void lossViewTimelineRewindsAndForksToSnapshotAtOrBefore() {
    TimelineLossView view;
    view.showSnapshot(synthetic(200));  // snapshots at 50, 100, 150, 200
    showAt(view, QSize(800, 500));
    QCOMPARE(view.snapshotStepAtOrBefore(100), 100);
    QCOMPARE(view.snapshotStepAtOrBefore(149.5), 100);
    QCOMPARE(view.snapshotStepAtOrBefore(20), -1);

    const QPoint at130 = view.positionOfStep(130);
    QVERIFY(std::abs(view.stepAt(at130) - 130) < 1.0);
    QMenu menu;
    view.addContextActions(menu, at130);
    QSignalSpy rewind(&view, &LossView::rewindRequested), fork(&view, &LossView::forkRequested);
    QAction* rewindAction = nullptr;
    QAction* forkAction = nullptr;
    for (QAction* a : menu.actions()) {
      if (a->text() == "Rewind to step 100") rewindAction = a;
      if (a->text() == "Fork from step 100") forkAction = a;
    }
    QVERIFY(rewindAction && forkAction);
    rewindAction->trigger();
    forkAction->trigger();
    QCOMPARE(rewind.count(), 1);
    QCOMPARE(rewind.at(0).at(0).toInt(), 100);
    QCOMPARE(fork.count(), 1);
    QCOMPARE(fork.at(0).at(0).toInt(), 100);

    // Before the first snapshot there is nothing to rewind to: one disabled entry.
    QMenu early;
    view.addContextActions(early, view.positionOfStep(20));
    QCOMPARE(early.actions().size(), 1);
    QVERIFY(!early.actions().front()->isEnabled());

    // A left click selects the recorded step nearest the click.
    QSignalSpy selected(&view, &LossView::stepSelected);
    auto* plot = view.findChild<QCustomPlot*>();
    QVERIFY(plot);
    QTest::mouseClick(plot, Qt::LeftButton, {}, plot->mapFrom(&view, view.positionOfStep(77)));
    QCOMPARE(view.selectedStep(), 77);
    QCOMPARE(selected.count(), 1);
    QCOMPARE(selected.at(0).at(0).toInt(), 77);
  }

  void loadViewBarsCapacityAndStack() {
    LoadView view;
    const RunSnapshot s = synthetic(200);
    view.showSnapshot(s);
    QCOMPARE(view.barCount(), 4);
    const float load[] = {0.4f, 0.3f, 0.2f, 0.1f}, importance[] = {0.35f, 0.3f, 0.2f, 0.15f};
    for (int e = 0; e < 4; ++e) {
      QVERIFY(std::abs(view.loadBar(e) - load[e]) < 1e-6);
      QVERIFY(std::abs(view.importanceBar(e) - importance[e]) < 1e-6);
    }
    QCOMPARE(view.uniformShare(), 0.25);
    QVERIFY(view.capacityLineVisible());
    QCOMPARE(view.capacityShare(), 40.0 / (128 * 2));
    QVERIFY(std::abs(view.droppedFraction() - 0.03) < 1e-6);
    QVERIFY(view.headingText().contains("dropped 3.00 %"));
    QCOMPARE(view.stackedPointCount(), 200);
    QVERIFY(!view.uniformByConstruction());

    // Expert choice: each expert takes exactly its capacity, so no capacity line; the note says so
    // and gives the tokens no expert took.
    RunSnapshot expertChoice = s;
    expertChoice.layers[0].tokenRouter = "expert_choice";
    view.showSnapshot(expertChoice);
    QVERIFY(!view.capacityLineVisible());
    QVERIFY2(view.headingText().contains("each expert takes exactly 40 tokens") &&
                 view.headingText().contains("tokens no expert took 3.00 %"),
             qPrintable(view.headingText()));

    RunSnapshot unlimited = s;
    unlimited.layers[0].capacity = 0;
    view.showSnapshot(unlimited);
    QVERIFY(!view.capacityLineVisible());
    QVERIFY(view.headingText().contains("No capacity limit"));
  }

  void loadViewDenseRouterSaysLoadIsUniform() {
    LoadView view;
    RunSnapshot s = synthetic(30);
    s.layers[0] = {RouterType::Dense, 4, 4, 0};
    view.showSnapshot(s);
    QVERIFY(view.uniformByConstruction());
    QVERIFY(view.headingText().contains("uniform by construction"));
    QVERIFY(!view.capacityLineVisible());
  }

  void loadViewSelectsLayerAndBinsLongHistories() {
    LoadView view;
    RunSnapshot s = synthetic(3000, 6);
    // A second MoE layer with 3 experts.
    s.layers.push_back({RouterType::Switch, 3, 1, 0});
    for (HistoryPoint& h : s.history) h.layers.push_back(layerFrom({0.5f, 0.25f, 0.25f}, {0.4f, 0.3f, 0.3f}));
    MoeMetrics second;
    second.load = {0.6f, 0.3f, 0.1f};
    second.importance = {0.5f, 0.3f, 0.2f};
    s.latest.moe.push_back(second);
    view.showSnapshot(s);
    QCOMPARE(view.layerCount(), 2);
    QCOMPARE(view.barCount(), 6);
    QCOMPARE(view.stackedPointCount(), 600);  // 3000 points averaged into 600 bins
    view.setCurrentLayer(1);
    QCOMPARE(view.barCount(), 3);
    QVERIFY(std::abs(view.loadBar(0) - 0.6) < 1e-6);
    QCOMPARE(view.uniformShare(), 1.0 / 3);
    view.showSnapshot(s);  // the choice survives new snapshots
    QCOMPARE(view.currentLayer(), 1);
  }

  void collapseViewAlertsOnlyWhenCollapsed() {
    CollapseView view;
    RunSnapshot s = synthetic(300, 4, 150);  // expert 3 starves from step 150
    view.showSnapshot(s);
    QVERIFY(!view.alertVisible());
    QVERIFY(view.alertText().isEmpty());
    QVERIFY(!view.collapseMarkerVisible());
    QCOMPARE(view.seriesPointCount(), 300);
    QCOMPARE(view.mutualInformationPointCount(), 30);
    QCOMPARE(view.deadExpertCount(), 1);  // 151 steps below a tenth of its share

    s.collapse[0] = {true, 120, {3}, "collapsed since step 120: load entropy below 0.50 ..."};
    view.showSnapshot(s);
    QVERIFY(view.alertVisible());
    QVERIFY(view.alertText().contains("since step 120"));
    QVERIFY(view.alertText().contains("1 of 4 experts dead"));
    QVERIFY(view.collapseMarkerVisible());
    QCOMPARE(view.collapseMarkerStep(), 120);
    QCOMPARE(view.deadExperts(), std::vector<int>{3});

    s.collapse[0] = {};
    view.showSnapshot(s);
    QVERIFY(!view.alertVisible());
    QVERIFY(!view.collapseMarkerVisible());
  }

  void collapseViewDeadCountNeedsAFullWindow() {
    CollapseView view;
    view.showSnapshot(synthetic(300, 4, 250));  // starved for 51 steps only
    QCOMPARE(view.deadExpertCount(), 0);
  }

  // Small docks (the default window's loss, load and collapse docks are 180-300 px tall, and
  // narrower on a 1280 px screen): every vertical axis' label fits its rect's height, ticks stay
  // apart, and step labels along the bottom do not run together. Before the fit, at these sizes
  // "task loss (log scale)" ran into the accuracy plot and the steps read "100125150175".
  void smallViewsFitTheirAxes() {
    LossView loss;
    LoadView load;
    CollapseView collapse;
    for (FigureView* v : std::initializer_list<FigureView*>{&loss, &load, &collapse}) {
      v->showSnapshot(synthetic(300));
      showAt(*v, QSize(340, 300));
      for (QCustomPlot* plot : v->findChildren<QCustomPlot*>()) {
        plot->replot(QCustomPlot::rpImmediateRefresh);
        int shortened = 0;
        for (QCPAxisRect* rect : plot->axisRects()) {
          for (QCPAxis* axis : rect->axes(QCPAxis::atLeft | QCPAxis::atRight)) {
            if (!axis->visible() || !rect->visible()) continue;
            const QString what = QString("%1: %2 in %3 px").arg(v->title(), axis->label()).arg(rect->height());
            QVERIFY2(QFontMetrics(axis->labelFont()).horizontalAdvance(axis->label()) <= rect->height(), qPrintable(what));
            shortened += axis->label() != fullAxisLabel(*axis);
            const QVector<double> ticks = axis->tickVector();
            const double gap = QFontMetrics(axis->tickLabelFont()).height() + 4;
            for (int i = 1; i < ticks.size(); ++i)
              QVERIFY2(std::abs(axis->coordToPixel(ticks[i]) - axis->coordToPixel(ticks[i - 1])) >= gap, qPrintable(what));
          }
        }
        QVERIFY2(shortened > 0, qPrintable(v->title() + ": no label needed its short form; the check is moot"));
        // Step ticks along the bottom keep their labels apart.
        for (QCPAxisRect* rect : plot->axisRects()) {
          QCPAxis* axis = rect->axis(QCPAxis::atBottom);
          if (!rect->visible() || !axis->tickLabels()) continue;
          const QFontMetrics metrics(axis->tickLabelFont());
          const QVector<double> ticks = axis->tickVector();
          const QVector<QString> labels = axis->tickVectorLabels();
          for (int i = 1; i < ticks.size(); ++i) {
            const double room = (metrics.horizontalAdvance(labels[i]) + metrics.horizontalAdvance(labels[i - 1])) / 2.0 + 4;
            QVERIFY2(std::abs(axis->coordToPixel(ticks[i]) - axis->coordToPixel(ticks[i - 1])) >= room,
                     qPrintable(QString("%1: %2 and %3").arg(v->title(), labels[i - 1], labels[i])));
          }
        }
      }
    }
  }

  // On a short plot (a 1280 x 800 screen's dock) every heading keeps to one screen line per text
  // line, the load view's note is left out, and no text element overlaps another or leaves the plot;
  // a tall plot shows the note again.
  void shortPlotsKeepTheirTextsShort() {
    LossView loss;
    LoadView load;
    CollapseView collapse;
    RunSnapshot s = synthetic(300);
    s.collapse[0] = {false, -1, {}, "balanced enough: normalised load entropy 0.99, max share 0.29"};
    for (FigureView* v : std::initializer_list<FigureView*>{&loss, &load, &collapse}) {
      v->showSnapshot(s);
      showAt(*v, QSize(340, 200));
      QCustomPlot* plot = v->findChild<QCustomPlot*>();
      QVERIFY(plot);
      plot->replot(QCustomPlot::rpImmediateRefresh);
      QVERIFY2(plot->height() < kCompactPlotHeight, qPrintable(QString::number(plot->height())));
      QList<QCPTextElement*> texts;
      for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
        if (auto* t = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i))) texts << t;
      QVERIFY(!texts.isEmpty());
      for (QCPTextElement* t : texts) {
        const QString what = v->title() + ": “" + t->text() + "”";
        QVERIFY2(!t->text().contains('\n'), qPrintable(what));
        QVERIFY2(QFontMetrics(t->font()).horizontalAdvance(t->text()) <= plot->width(), qPrintable(what));
        QVERIFY2(t->outerRect().top() >= 0 && t->outerRect().bottom() <= plot->height(), qPrintable(what));
        for (QCPTextElement* u : texts)
          if (u != t && !u->text().isEmpty() && !t->text().isEmpty())
            QVERIFY2(!t->outerRect().intersects(u->outerRect()), qPrintable(what + " overlaps “" + u->text() + "”"));
      }
      if (v == &load) {
        QVERIFY(std::any_of(texts.begin(), texts.end(), [](QCPTextElement* t) { return t->text().isEmpty(); }));  // the note
        showAt(*v, QSize(340, 600));
        plot->replot(QCustomPlot::rpImmediateRefresh);
        QVERIFY(std::none_of(texts.begin(), texts.end(), [](QCPTextElement* t) { return t->text().isEmpty(); }));
      }
    }
  }

  void exportWritesPngSvgPdf() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    RunSnapshot s = synthetic(200, 4, 100);
    s.collapse[0] = {true, 120, {3}, "collapsed since step 120"};
    LossView loss;
    LoadView load;
    CollapseView collapse;
    const std::vector<FigureView*> views{&loss, &load, &collapse};
    for (FigureView* v : views) {
      v->showSnapshot(s);
      showAt(*v, QSize(700, 480));
      for (const QString ext : {"png", "svg", "pdf"}) {
        const QString path = dir.filePath(v->title() + "." + ext);
        QCOMPARE(v->exportFigure(path), QString());
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray bytes = f.readAll();
        QVERIFY2(bytes.size() > 2000, qPrintable(path));
        if (ext == QString("png")) {
          QImage image;
          QVERIFY(image.loadFromData(bytes, "PNG"));
          QVERIFY(nonWhitePixels(image) > 2000);
        } else if (ext == QString("svg")) {
          // Vector: paths and text, no embedded raster image; and it renders to something.
          QVERIFY(bytes.contains("<path") || bytes.contains("<polyline"));
          QVERIFY(bytes.contains("<text"));
          QVERIFY(!bytes.contains("<image"));
          QSvgRenderer renderer(bytes);
          QVERIFY(renderer.isValid());
          QImage image(700, 480, QImage::Format_ARGB32);
          image.fill(Qt::white);
          QPainter painter(&image);
          renderer.render(&painter);
          painter.end();
          QVERIFY(nonWhitePixels(image) > 2000);
          if (v == &collapse) {
            QVERIFY(bytes.contains("Routing collapsed"));  // the banner is in the figure
          }
        } else {
          QVERIFY(bytes.startsWith("%PDF"));
        }
      }
    }
  }

  void realSwitchCollapseRun() {
    const RunSnapshot s = trainPreset("switch-collapse", 300);
    LossView loss;
    LoadView load;
    CollapseView collapse;
    loss.showSnapshot(s);
    load.showSnapshot(s);
    collapse.showSnapshot(s);
    QCOMPARE(loss.trainPointCount(), 300);
    QCOMPARE(loss.evalPointCount(), 15);
    QCOMPARE(load.barCount(), 24);
    double total = 0;
    for (int e = 0; e < 24; ++e) total += load.loadBar(e);
    QVERIFY(std::abs(total - 1.0) < 1e-3);
    // The preset collapses early and starves most experts (docs/presets.md).
    QVERIFY(s.collapse[0].collapsed);
    QVERIFY(collapse.alertVisible());
    QCOMPARE(collapse.collapseMarkerStep(), s.collapse[0].beganAtStep);
    QCOMPARE(collapse.deadExpertCount(), int(s.collapse[0].deadExperts.size()));
    QVERIFY(collapse.deadExpertCount() >= 10);

    showAt(loss, QSize(760, 480));
    showAt(load, QSize(760, 520));
    showAt(collapse, QSize(760, 520));
    saveShot(loss, "loss_switch_collapse");
    saveShot(load, "load_switch_collapse");
    saveShot(collapse, "collapse_switch_collapse");
  }

  // Only with ROUTELAB_VIEWS_A_SHOTS: more real runs for people to look at (healthy top-k with a
  // comparison run, a dense router, regression).
  void lookAtOtherPresets() {
    const QString dir = qEnvironmentVariable("ROUTELAB_VIEWS_A_SHOTS");
    if (dir.isEmpty()) QSKIP("set ROUTELAB_VIEWS_A_SHOTS=DIR to save screenshots");
    RunSnapshot spiral = trainPreset("spiral-moe", 600);
    spiral.comparisons.push_back({"seed 2", trainPreset("spiral-moe", 400, 2).history});
    RunSnapshot balanced = trainPreset("switch-balanced", 300);
    const RunSnapshot dense = trainPreset("jacobs-competitive", 300);
    const RunSnapshot regression = trainPreset("local-experts-regression", 300);
    struct Shot { const RunSnapshot* s; QString name; };
    for (const Shot& shot : {Shot{&spiral, "spiral"}, Shot{&balanced, "switch_balanced"}, Shot{&dense, "jacobs"},
                             Shot{&regression, "regression"}}) {
      LossView loss;
      LoadView load;
      CollapseView collapse;
      for (FigureView* v : std::initializer_list<FigureView*>{&loss, &load, &collapse}) {
        v->showSnapshot(*shot.s);
        showAt(*v, QSize(760, 500));
      }
      loss.selectStep(shot.s->step / 2);
      saveShot(loss, "loss_" + shot.name);
      saveShot(load, "load_" + shot.name);
      saveShot(collapse, "collapse_" + shot.name);
      for (FigureView* v : std::initializer_list<FigureView*>{&loss, &load, &collapse})
        for (const QString ext : {"svg", "pdf"})
          QCOMPARE(v->exportFigure(dir + "/" + v->title() + "_" + shot.name + "." + ext), QString());
    }
  }
};

QTEST_MAIN(TestViewsA)
#include "test_views_a.moc"
