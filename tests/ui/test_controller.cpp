// TrainingController on a real worker QThread, driven only through queued calls (and a direct
// pause() from this thread), checked through latest() and its signals, as the window uses it.
#include <QElapsedTimer>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>
#include <cmath>
#include <functional>
#include <map>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "run/history_json.h"
#include "run/metatypes.h"
#include "run/metric_history.h"
#include "run/project_file.h"
#include "run/snapshot_store.h"
#include "run/training_controller.h"
#include "spec/presets.h"
#include "spec/spec_json.h"

using namespace rl;
using namespace rl::ui;

namespace {

// A controller living on its own thread, as MainWindow sets it up.
struct Rig {
  explicit Rig(const QString& backend = "cpu") : controller(new TrainingController(backend)) {
    controller->moveToThread(&thread);
    thread.start();
  }
  ~Rig() {
    controller->pause();
    sync([] {});
    thread.quit();
    thread.wait();
    delete controller;  // its thread has finished: nothing runs on it any more
  }
  // Runs f on the controller's thread and waits for it (commands queued earlier run first).
  void sync(const std::function<void()>& f) {
    QMetaObject::invokeMethod(controller, f, Qt::BlockingQueuedConnection);
  }
  void post(const std::function<void()>& f) { QMetaObject::invokeMethod(controller, f, Qt::QueuedConnection); }

  RunSnapshotPtr latest() const { return controller->latest(); }
  // Polls latest() until pred holds; null on timeout.
  RunSnapshotPtr waitFor(const std::function<bool(const RunSnapshot&)>& pred, int timeoutMs = 10000) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeoutMs) {
      RunSnapshotPtr s = latest();
      if (s && pred(*s)) return s;
      QTest::qWait(2);
    }
    return nullptr;
  }
  RunSnapshotPtr waitForPausedAt(int step) {
    return waitFor([step](const RunSnapshot& s) { return !s.playing && s.step == step; });
  }

  QThread thread;
  TrainingController* controller;
};

Spec defaultSpec() { return loadPreset(kDefaultPreset); }

std::map<std::string, NamedTensor> weightsOf(const std::string& projectPath) {
  std::map<std::string, NamedTensor> m;
  for (auto& t : readProjectFile(projectPath).weights) m[t.name] = t;
  return m;
}

bool sameNumber(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

// Histories equal value for value (NaN equals NaN).
bool sameHistory(const std::vector<HistoryPoint>& a, const std::vector<HistoryPoint>& b, QString* why) {
  if (a.size() != b.size()) return *why = QString("sizes %1 vs %2").arg(a.size()).arg(b.size()), false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto &p = a[i], &q = b[i];
    bool same = p.step == q.step && sameNumber(p.loss, q.loss) && sameNumber(p.accuracy, q.accuracy) &&
                sameNumber(p.evalLoss, q.evalLoss) && sameNumber(p.evalAccuracy, q.evalAccuracy) &&
                p.layers.size() == q.layers.size();
    for (size_t l = 0; same && l < p.layers.size(); ++l)
      same = p.layers[l].load == q.layers[l].load && p.layers[l].importance == q.layers[l].importance &&
             sameNumber(p.layers[l].mutualInformation, q.layers[l].mutualInformation) &&
             sameNumber(p.layers[l].loadEntropy, q.layers[l].loadEntropy);
    if (!same) return *why = QString("point %1 (step %2) differs").arg(i).arg(p.step), false;
  }
  return true;
}

}  // namespace

class TestController : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { registerMetaTypes(); }

  void historyStaysBoundedAndRecentStepsDense() {
    MetricHistory h(64);
    for (int step = 1; step <= 200000; ++step) {
      HistoryPoint p;
      p.step = step;
      p.loss = step;
      p.evalLoss = step % 25 == 0 ? 1.0 : NAN;
      h.add(p);
      QVERIFY(h.points().size() <= 64);
    }
    const auto& pts = h.points();
    QCOMPARE(pts.back().step, 200000);
    for (size_t i = 1; i < pts.size(); ++i) QVERIFY(pts[i].step > pts[i - 1].step);
    size_t dense = pts.size() - 1;  // the recent stretch: every step
    while (dense > 0 && pts[dense - 1].step == pts[dense].step - 1) --dense;
    QVERIFY2(pts.size() - dense >= 16, qPrintable(QString("only %1 recent steps dense").arg(pts.size() - dense)));
    // The whole run before it is covered evenly, by evaluated points.
    const long stride = h.stride();
    QVERIFY(stride >= 25);
    QVERIFY2(pts.front().step <= stride, qPrintable(QString("first kept step %1, stride %2").arg(pts.front().step).arg(stride)));
    for (size_t i = 0; i < dense; ++i) {
      QVERIFY2(hasEvaluation(pts[i]), qPrintable(QString("step %1 has no evaluation").arg(pts[i].step)));
      QVERIFY2(pts[i + 1].step - pts[i].step <= 2 * stride, qPrintable(QString("gap after step %1").arg(pts[i].step)));
    }
    h.truncateAfter(199990);
    QCOMPARE(h.points().back().step, 199990);
  }

  void snapshotStoreThinsAndFindsTheNearestEarlier() {
    SnapshotStore store(25, 16, size_t(1) << 30);
    for (int step = 0; step <= 10000; step += 25) {
      Snapshot s;
      s.step = step;
      s.params.assign(10, step);
      store.add({s, nullptr, {}});
      QVERIFY(store.steps().size() <= 16);
    }
    const auto steps = store.steps();
    QCOMPARE(steps.front(), 0);
    QCOMPARE(steps.back(), 10000);
    for (size_t i = 1; i < steps.size(); ++i)  // the whole run stays reachable, evenly
      QVERIFY2(steps[i] - steps[i - 1] <= 3200, qPrintable(QString("gap after step %1").arg(steps[i - 1])));
    QCOMPARE(store.atOrBefore(10010)->state.step, 10000);
    QCOMPARE(store.atOrBefore(0)->state.step, 0);
    QVERIFY(store.atOrBefore(-1) == nullptr);
    const int middle = steps[steps.size() / 2];
    QCOMPARE(store.atOrBefore(middle + 1)->state.step, middle);
    QCOMPARE(store.atOrBefore(middle + 1)->state.params.front(), uint32_t(middle));
    // Bounded by bytes too.
    SnapshotStore small(1, 1000, 4000);
    for (int step = 0; step < 100; ++step) {
      Snapshot s;
      s.step = step;
      s.params.assign(100, 0);  // 400 bytes
      small.add({s, nullptr, {}});
    }
    QVERIFY(small.bytes() <= 4000);
    QCOMPARE(small.steps().front(), 0);
  }

  void historyJsonRoundTripsExactly() {
    HistoryPoint p;
    p.step = 7;
    p.loss = 0.1234567890123;
    p.accuracy = NAN;
    p.evalLoss = 2.5;
    p.evalAccuracy = NAN;
    p.layers.push_back({{0.25f, 0.75f}, {0.3f, 0.7f}, 0.5, 0.01, 0.02, 0.003, 0.81, 0.5, 0.75, NAN});
    HistoryPoint q = p;
    q.step = 9;
    const auto back = historyFromJson(historyToJson({p, q}));
    QString why;
    QVERIFY2(sameHistory(back, {p, q}, &why), qPrintable(why));
    QCOMPARE(back[0].layers[0].zLoss, 0.003);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, historyFromJson(historyToJson({q, p})));  // steps must increase
  }

  void resetPublishesACompleteSnapshot() {
    Rig rig;
    const Spec spec = defaultSpec();
    rig.sync([&] { rig.controller->reset(spec); });
    RunSnapshotPtr s = rig.latest();
    QVERIFY(s);
    QCOMPARE(s->step, 0);
    QCOMPARE(s->backendName, std::string("cpu"));
    QVERIFY(!s->deviceName.empty());
    QVERIFY(!s->backendReason.empty());
    QCOMPARE(specToJson(s->spec), specToJson(spec));
    QCOMPARE(s->layers.size(), size_t(1));
    QCOMPARE(s->layers[0].experts, 8);
    QCOMPARE(s->layers[0].k, 2);
    QCOMPARE(s->layers[0].router, RouterType::TopK);
    QCOMPARE(s->layers[0].capacity, 0);  // capacity factor 0: unlimited, whatever the engine sized
    QCOMPARE(s->classes, 4);
    QVERIFY(s->history.empty());
    QCOMPARE(s->snapshotSteps, std::vector<int>{0});
    QCOMPARE(s->collapse.size(), size_t(1));
    // Step mode: held-out evaluation, probe and input map are current.
    QVERIFY(s->latestEval.rows > 0);
    QVERIFY(s->probe.rows > 0);
    QCOMPARE(s->probe.layers.at(0).experts, 8);
    QCOMPARE(s->inputMap.resolution, 64);
    QCOMPARE(s->inputMap.topExpert.at(0).size(), size_t(64 * 64));
    QCOMPARE(s->inputMap.predictedClass.size(), size_t(64 * 64));
    QVERIFY(s->inputMap.xMin < s->inputMap.xMax && s->inputMap.yMin < s->inputMap.yMax);
  }

  void stepOnceRunsExactlyOneStep() {
    Rig rig;
    rig.sync([&] { rig.controller->reset(defaultSpec()); });
    const RunSnapshotPtr before = rig.latest();
    QSignalSpy published(rig.controller, &TrainingController::published);
    rig.post([&] { rig.controller->stepOnce(); });
    QTRY_COMPARE(published.count(), 1);
    QTest::qWait(150);
    QCOMPARE(published.count(), 1);  // exactly one snapshot per step command
    RunSnapshotPtr s = rig.latest();
    QVERIFY(s != before);
    QCOMPARE(s->step, 1);
    QCOMPARE(s->latest.step, 1);
    QCOMPARE(s->history.size(), size_t(1));
    QCOMPARE(s->history[0].step, 1);
    QVERIFY(std::isfinite(s->history[0].loss));
    QCOMPARE(s->history[0].layers.at(0).load.size(), size_t(8));
    QVERIFY(std::isfinite(s->history[0].evalLoss));  // step mode evaluates on every publish
    QVERIFY(std::isfinite(s->history[0].layers[0].mutualInformation));
    QVERIFY(!s->playing);
  }

  void playThenPauseStopsWithinAStep() {
    Rig rig;
    rig.sync([&] { rig.controller->reset(defaultSpec()); });
    QSignalSpy published(rig.controller, &TrainingController::published);
    rig.post([&] { rig.controller->play(); });
    QVERIFY(rig.waitFor([](const RunSnapshot& s) { return s.playing && s.step > 0; }));

    // Play must not starve the controller's event loop: a queued command gets through promptly.
    QElapsedTimer roundTrip;
    roundTrip.start();
    rig.sync([] {});
    const qint64 roundTripMs = roundTrip.elapsed();
    QTest::qWait(500);
    const RunSnapshotPtr playing = rig.latest();
    QVERIFY(playing->playing);
    QVERIFY2(playing->step > 20, qPrintable(QString("only %1 steps in ~0.5 s").arg(playing->step)));
    QVERIFY(playing->stepsPerSecond > 0);
    QVERIFY(!playing->history.empty() && playing->history.back().step <= playing->step);

    QElapsedTimer pauseTime;
    pauseTime.start();
    rig.controller->pause();  // directly from this (the UI) thread
    RunSnapshotPtr paused = rig.waitFor([](const RunSnapshot& s) { return !s.playing; });
    QVERIFY(paused);
    const qint64 pauseMs = pauseTime.elapsed();
    const int publishedWhilePlaying = published.count();
    QTest::qWait(300);
    QCOMPARE(rig.latest()->step, paused->step);  // stopped advancing
    qInfo("played to step %d (%.0f steps/s), %d snapshots published, queued round trip %lld ms, pause took %lld ms",
          paused->step, playing->stepsPerSecond, publishedWhilePlaying, roundTripMs, pauseMs);
    QVERIFY2(roundTripMs < 1000, qPrintable(QString("queued command waited %1 ms").arg(roundTripMs)));
    QVERIFY2(pauseMs < 1000, qPrintable(QString("pause took %1 ms").arg(pauseMs)));
    // ~30 snapshots a second at most while playing (plus the command snapshots).
    const double seconds = 0.5 + (roundTripMs + pauseMs) / 1000.0 + 0.3;
    QVERIFY2(publishedWhilePlaying <= 35 * seconds + 4, qPrintable(QString("%1 snapshots").arg(publishedWhilePlaying)));
  }

  void endingTheThreadWhilePlayingIsClean() {
    // An owner may quit the worker thread mid-play and then delete the controller.
    QTest::failOnWarning(QRegularExpression("[Tt]imer"));
    QThread thread;
    auto* controller = new TrainingController("cpu");
    controller->moveToThread(&thread);
    thread.start();
    QMetaObject::invokeMethod(controller, [controller] {
      controller->reset(loadPreset(kDefaultPreset));
      controller->play();
    }, Qt::BlockingQueuedConnection);
    QTest::qWait(100);
    QVERIFY(controller->latest()->playing);
    thread.quit();
    QVERIFY(thread.wait(5000));
    delete controller;
  }

  void pauseBeforeQueuedPlayIsHonouredInOrder() {
    // play queued, then pause called directly: the run ends paused.
    Rig rig;
    rig.sync([&] { rig.controller->reset(defaultSpec()); });
    rig.post([&] { rig.controller->play(); });
    rig.controller->pause();
    rig.sync([] {});
    rig.sync([] {});
    RunSnapshotPtr s = rig.latest();
    QVERIFY(!s->playing);
    QTest::qWait(100);
    QCOMPARE(rig.latest()->step, s->step);
  }

  void speedLimitsStepsPerSecond() {
    Rig rig;
    rig.sync([&] {
      rig.controller->reset(defaultSpec());
      rig.controller->setSpeed(50);
      rig.controller->play();
    });
    QTest::qWait(600);
    rig.controller->pause();
    RunSnapshotPtr s = rig.waitFor([](const RunSnapshot& x) { return !x.playing; });
    QVERIFY(s);
    qInfo("speed 50/s: %d steps in ~0.6 s", s->step);
    QVERIFY2(s->step >= 15 && s->step <= 45, qPrintable(QString("%1 steps").arg(s->step)));
  }

  void stepNRunsNSteps() {
    Rig rig;
    rig.sync([&] { rig.controller->reset(defaultSpec()); });
    rig.post([&] { rig.controller->stepN(40); });
    RunSnapshotPtr s = rig.waitForPausedAt(40);
    QVERIFY(s);
    QCOMPARE(s->history.size(), size_t(40));
    QCOMPARE(s->history.back().step, 40);
    QTest::qWait(100);
    QCOMPARE(rig.latest()->step, 40);
    QCOMPARE(s->snapshotSteps, (std::vector<int>{0, 25}));
  }

  void applySpecWithOneMoreExpertKeepsWeightsAndHistory() {
    QTemporaryDir dir;
    Rig rig;
    Spec spec = defaultSpec();
    rig.sync([&] {
      rig.controller->reset(spec);
      rig.controller->stepN(30);
    });
    QVERIFY(rig.waitForPausedAt(30));
    const RunSnapshotPtr before = rig.latest();
    const QString a = dir.filePath("before.routelab"), b = dir.filePath("after.routelab");
    rig.sync([&] { rig.controller->saveProject(a); });

    spec.model.layers[0].experts = 9;
    rig.sync([&] { rig.controller->applySpec(spec); });
    RunSnapshotPtr after = rig.latest();
    QCOMPARE(after->step, 30);
    QCOMPARE(after->layers.at(0).experts, 9);
    QVERIFY(after->latest.moe.at(0).load.empty());  // no figures of the old 8 experts
    spec.model.layers[0].router.capacityFactor = 1.25;
    rig.sync([&] { rig.controller->applySpec(spec); });
    QCOMPARE(rig.latest()->layers.at(0).capacity, int(std::ceil(1.25 * 256 * 2 / 9)));
    QCOMPARE(after->spec.model.layers[0].experts, 9);
    QString why;
    QVERIFY2(sameHistory(after->history, before->history, &why), qPrintable(why));
    QVERIFY2(QString::fromStdString(after->message).contains("fresh 4"), after->message.c_str());
    rig.sync([&] { rig.controller->saveProject(b); });

    auto old = weightsOf(a.toStdString()), now = weightsOf(b.toStdString());
    for (int e = 0; e < 8; ++e)
      for (const char* part : {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}) {
        const std::string name = "moe.0.experts." + std::to_string(e) + "." + part;
        QVERIFY2(now.at(name).data == old.at(name).data, name.c_str());
      }
    QVERIFY(now.count("moe.0.experts.8.fc1.weight"));
    QCOMPARE(now.at("moe.0.router.weight").shape, (std::vector<int64_t>{9, 2}));
    QVERIFY(std::equal(old.at("moe.0.router.weight").data.begin(), old.at("moe.0.router.weight").data.end(),
                       now.at("moe.0.router.weight").data.begin()));

    rig.post([&] { rig.controller->stepOnce(); });
    RunSnapshotPtr next = rig.waitForPausedAt(31);
    QVERIFY(next);
    QCOMPARE(next->history.size(), size_t(31));
    QCOMPARE(next->history.back().step, 31);
    QCOMPARE(next->history.back().layers.at(0).load.size(), size_t(9));
  }

  void invalidSpecLeavesTheRunUnchanged() {
    Rig rig;
    rig.sync([&] {
      rig.controller->reset(defaultSpec());
      rig.controller->stepN(5);
    });
    QVERIFY(rig.waitForPausedAt(5));
    const RunSnapshotPtr before = rig.latest();
    QSignalSpy errors(rig.controller, &TrainingController::error);
    Spec bad = defaultSpec();
    bad.model.layers[0].router.k = 12;  // more than the 8 experts
    rig.sync([&] { rig.controller->applySpec(bad); });
    QTRY_COMPARE(errors.count(), 1);
    QVERIFY2(errors.at(0).at(0).toString().contains("router.k"), qPrintable(errors.at(0).at(0).toString()));
    QCOMPARE(rig.latest(), before);
    QCOMPARE(rig.latest()->spec.model.layers[0].router.k, 2);
  }

  void rewindAndFork() {
    Rig rig;
    rig.sync([&] {
      rig.controller->reset(defaultSpec());
      rig.controller->stepN(60);
    });
    const RunSnapshotPtr first = rig.waitForPausedAt(60);
    QVERIFY(first);
    QCOMPARE(first->snapshotSteps, (std::vector<int>{0, 25, 50}));

    // Rewind to the snapshot at or before 55 (step 50); the replayed step equals the original.
    rig.sync([&] { rig.controller->rewindTo(55); });
    RunSnapshotPtr rewound = rig.latest();
    QCOMPARE(rewound->step, 50);
    QCOMPARE(rewound->history.back().step, 50);
    QCOMPARE(rewound->history.size(), size_t(50));
    QVERIFY(rewound->comparisons.empty());
    rig.post([&] { rig.controller->stepOnce(); });
    RunSnapshotPtr replayed = rig.waitForPausedAt(51);
    QVERIFY(replayed);
    QCOMPARE(replayed->history.back().loss, first->history[50].loss);

    rig.sync([&] { rig.controller->stepN(19); });
    QVERIFY(rig.waitForPausedAt(70));
    rig.sync([&] { rig.controller->forkAt(30); });
    RunSnapshotPtr forked = rig.latest();
    QCOMPARE(forked->step, 25);
    QCOMPARE(forked->history.back().step, 25);
    QCOMPARE(forked->comparisons.size(), size_t(1));
    QCOMPARE(forked->comparisons[0].label, std::string("run 1, forked at step 25"));
    QCOMPARE(forked->comparisons[0].history.back().step, 70);
    QCOMPARE(forked->snapshotSteps, (std::vector<int>{0, 25}));

    rig.sync([&] { rig.controller->clearComparisons(); });
    QVERIFY(rig.latest()->comparisons.empty());
    QSignalSpy errors(rig.controller, &TrainingController::error);
    rig.sync([&] { rig.controller->rewindTo(-5); });
    QCOMPARE(errors.count(), 1);
  }

  void rewindAcrossAnEditRebuildsTheOldModel() {
    Rig rig;
    Spec spec = defaultSpec();
    rig.sync([&] {
      rig.controller->reset(spec);
      rig.controller->stepN(30);
    });
    QVERIFY(rig.waitForPausedAt(30));
    spec.model.layers[0].experts = 6;
    rig.sync([&] {
      rig.controller->applySpec(spec);
      rig.controller->stepN(10);
    });
    QVERIFY(rig.waitForPausedAt(40));
    QCOMPARE(rig.latest()->layers[0].experts, 6);
    rig.sync([&] { rig.controller->rewindTo(26); });
    RunSnapshotPtr s = rig.latest();
    QCOMPARE(s->step, 25);
    QCOMPARE(s->layers[0].experts, 8);
    QCOMPARE(s->spec.model.layers[0].experts, 8);
  }

  void saveOpenRoundTrip() {
    QTemporaryDir dir;
    const QString path = dir.filePath("run.routelab");
    Rig rig;
    rig.sync([&] {
      rig.controller->reset(defaultSpec());
      rig.controller->stepN(40);
    });
    QVERIFY(rig.waitForPausedAt(40));
    QSignalSpy saved(rig.controller, &TrainingController::projectSaved);
    rig.sync([&] { rig.controller->saveProject(path); });
    QCOMPARE(saved.count(), 1);
    const RunSnapshotPtr original = rig.latest();
    rig.post([&] { rig.controller->stepOnce(); });
    const RunSnapshotPtr continued = rig.waitForPausedAt(41);
    QVERIFY(continued);

    // Replace the run with another one, then open the file.
    rig.sync([&] { rig.controller->reset(loadPreset("jacobs-competitive")); });
    QSignalSpy opened(rig.controller, &TrainingController::projectOpened);
    int stepSeenBySlot = -1;  // a slot reacting to projectOpened must already see the opened run
    QObject receiver;  // the connection ends with this scope, before the rig goes
    connect(rig.controller, &TrainingController::projectOpened, &receiver,
            [&] { stepSeenBySlot = rig.latest()->step; });
    rig.sync([&] { rig.controller->openProject(path); });
    QCOMPARE(opened.count(), 1);
    QTRY_COMPARE(stepSeenBySlot, 40);
    RunSnapshotPtr back = rig.latest();
    QCOMPARE(back->step, 40);
    QCOMPARE(specToJson(back->spec), specToJson(original->spec));
    QString why;
    QVERIFY2(sameHistory(back->history, original->history, &why), qPrintable(why));
    QCOMPARE(back->probe.prediction, original->probe.prediction);   // same weights
    QCOMPARE(back->inputMap.prediction, original->inputMap.prediction);
    QCOMPARE(back->latestEval.loss, original->latestEval.loss);
    // Optimizer state, RNG and step counters too: the next step is the one the original took.
    rig.post([&] { rig.controller->stepOnce(); });
    RunSnapshotPtr next = rig.waitForPausedAt(41);
    QVERIFY(next);
    QCOMPARE(next->history.back().loss, continued->history.back().loss);
    QCOMPARE(next->probe.prediction, continued->probe.prediction);
  }

  // A Transformer run round-trips too: spec, weights (the probe's predictions and token routing),
  // optimizer state and the data stream, so the next step is the one the original took.
  void transformerProjectRoundTrip() {
    QTemporaryDir dir;
    const QString path = dir.filePath("tokens.routelab");
    Rig rig;
    rig.sync([&] {
      rig.controller->reset(loadPreset("tiny-transformer-moe"));
      rig.controller->stepN(30);
    });
    const RunSnapshotPtr original = rig.waitForPausedAt(30);
    QVERIFY(original);
    QVERIFY(original->tokenRouting.has_value());
    rig.sync([&] { rig.controller->saveProject(path); });
    rig.post([&] { rig.controller->stepOnce(); });
    const RunSnapshotPtr continued = rig.waitForPausedAt(31);
    QVERIFY(continued);

    rig.sync([&] { rig.controller->reset(defaultSpec()); });
    rig.sync([&] { rig.controller->openProject(path); });
    RunSnapshotPtr back;
    QTRY_VERIFY((back = rig.latest()) && back->step == 30);
    QCOMPARE(specToJson(back->spec), specToJson(original->spec));
    QCOMPARE(back->probe.prediction, original->probe.prediction);
    QVERIFY(back->tokenRouting.has_value());
    QCOMPARE(*back->tokenRouting, *original->tokenRouting);
    QString why;
    QVERIFY2(sameHistory(back->history, original->history, &why), qPrintable(why));
    rig.post([&] { rig.controller->stepOnce(); });
    const RunSnapshotPtr next = rig.waitForPausedAt(31);
    QVERIFY(next);
    QCOMPARE(next->history.back().loss, continued->history.back().loss);
    QCOMPARE(next->probe.prediction, continued->probe.prediction);
  }

  void corruptProjectFilesChangeNothing() {
    QTemporaryDir dir;
    Rig rig;
    rig.sync([&] {
      rig.controller->reset(defaultSpec());
      rig.controller->stepN(10);
    });
    QVERIFY(rig.waitForPausedAt(10));
    const QString good = dir.filePath("good.routelab");
    rig.sync([&] { rig.controller->saveProject(good); });
    const std::string bytes = readFileBytes(good.toStdString());
    SafetensorsFile parsed = decodeSafetensors(bytes, "good");

    std::vector<std::pair<QString, std::string>> cases;  // file, expected words in the message
    auto write = [&](const QString& name, const std::string& content, const std::string& expect) {
      writeFileAtomic(dir.filePath(name).toStdString(), content);
      cases.push_back({dir.filePath(name), expect});
    };
    write("truncated.routelab", bytes.substr(0, bytes.size() / 2), "");
    write("garbage.routelab", std::string(4096, '\x5a'), "");
    write("empty.routelab", "", "");
    auto withMeta = [&](const std::string& key, const std::string& value) {
      auto meta = parsed.metadata;
      meta[key] = value;
      return encodeSafetensors(parsed.tensors, meta, "x");
    };
    write("bad-spec-json.routelab", withMeta("spec", "{\"format\": \"routelab/1\", \"model\": "), "spec");
    write("bad-spec-type.routelab", withMeta("spec", "{\"format\": \"routelab/1\", \"model\": 5}"), "model");
    write("bad-history.routelab", withMeta("history", "[[1, 0.5, 0.5]]"), "history[0]");
    write("not-a-project.routelab", withMeta("format", "routelab/1"), "not a Routelab project");
    Spec other = defaultSpec();
    other.model.layers[0].experts = 5;  // the weights no longer fit the spec
    write("mismatched.routelab", withMeta("spec", specToJson(other)), "moe.0");
    auto tensors = parsed.tensors;
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                 [](const NamedTensor& t) { return t.name == "routelab.optimizer_state"; }),
                  tensors.end());
    write("no-optimizer.routelab", encodeSafetensors(tensors, parsed.metadata, "x"), "optimizer");
    cases.push_back({dir.filePath("missing.routelab"), ""});

    const RunSnapshotPtr before = rig.latest();
    QSignalSpy errors(rig.controller, &TrainingController::error);
    QSignalSpy opened(rig.controller, &TrainingController::projectOpened);
    for (const auto& [file, expect] : cases) {
      const int n = errors.count();
      rig.sync([&, f = file] { rig.controller->openProject(f); });
      QCOMPARE(errors.count(), n + 1);
      const QString message = errors.last().at(0).toString();
      qInfo("%s", qPrintable(message));
      QVERIFY2(message.contains(QFileInfo(file).fileName()), qPrintable(message));
      QVERIFY2(message.contains(QString::fromStdString(expect)), qPrintable(message));
      QCOMPARE(rig.latest(), before);  // nothing published, nothing changed
    }
    QCOMPARE(opened.count(), 0);
    rig.post([&] { rig.controller->stepOnce(); });
    RunSnapshotPtr next = rig.waitForPausedAt(11);  // the run carries on where it was
    QVERIFY(next);
    QCOMPARE(next->history.size(), size_t(11));
    QCOMPARE(specToJson(next->spec), specToJson(before->spec));
  }

  void divergentSpecPausesWithTheDivergedSignal() {
    Rig rig;
    Spec spec = defaultSpec();
    spec.train.optimizer = OptimizerType::Sgd;
    spec.train.learningRate = 1e6;
    QSignalSpy diverged(rig.controller, &TrainingController::diverged);
    bool slotSawDivergedRun = false;  // a slot reacting to diverged must find it in latest()
    QObject receiver;  // the connection ends with this scope, before the rig goes
    connect(rig.controller, &TrainingController::diverged, &receiver,
            [&] { slotSawDivergedRun = rig.latest()->diverged && !rig.latest()->playing; });
    rig.sync([&] {
      rig.controller->reset(spec);
      rig.controller->play();
    });
    QTRY_COMPARE_WITH_TIMEOUT(diverged.count(), 1, 10000);
    QTRY_VERIFY(slotSawDivergedRun);
    RunSnapshotPtr s = rig.waitFor([](const RunSnapshot& x) { return x.diverged && !x.playing; });
    QVERIFY(s);
    qInfo("%s", s->message.c_str());
    QVERIFY(s->message.find("diverged at step " + std::to_string(s->step)) != std::string::npos);
    QVERIFY(s->message.find("learning rate") != std::string::npos);
    QVERIFY(!s->history.empty() || s->step == 1);
    for (const auto& p : s->history) QVERIFY(std::isfinite(p.loss));  // the NaN step is not history
    QTest::qWait(100);
    QCOMPARE(rig.latest()->step, s->step);
    // Stepping a diverged run does nothing but say so again.
    rig.sync([&] { rig.controller->stepOnce(); });
    QCOMPARE(diverged.count(), 2);
    QCOMPARE(rig.latest()->step, s->step);
    // Lowering the learning rate carries on from the last finite snapshot.
    spec.train.learningRate = 0.01;
    rig.sync([&] { rig.controller->applySpec(spec); });
    QVERIFY(!rig.latest()->diverged);
    QVERIFY(rig.latest()->step < s->step);
  }

  void exportRunWritesTheCliOutputs() {
    QTemporaryDir dir;
    Rig rig;
    rig.sync([&] {
      rig.controller->reset(defaultSpec());
      rig.controller->stepN(20);
    });
    QVERIFY(rig.waitForPausedAt(20));
    QSignalSpy exported(rig.controller, &TrainingController::runExported);
    const QString out = dir.filePath("export");
    rig.sync([&] { rig.controller->exportRun(out); });
    QCOMPARE(exported.count(), 1);
    for (const char* f : {"config.json", "weights.safetensors", "metrics.csv", "summary.json"})
      QVERIFY2(QFileInfo::exists(out + "/" + f), f);
    QFile csv(out + "/metrics.csv");
    QVERIFY(csv.open(QIODevice::ReadOnly));
    QCOMPARE(csv.readAll().count('\n'), 21);  // header + 20 steps
  }

  void regressionPresetHasNoClasses() {
    Rig rig;
    rig.sync([&] {
      rig.controller->reset(loadPreset("local-experts-regression"));
      rig.controller->stepOnce();
    });
    RunSnapshotPtr s = rig.latest();
    QCOMPARE(s->step, 1);
    QCOMPARE(s->classes, 0);
    QVERIFY(std::isnan(s->history.at(0).accuracy));
    QVERIFY(std::isfinite(s->history.at(0).evalLoss));
    QCOMPARE(s->inputMap.resolution, 64);
    QVERIFY(s->inputMap.predictedClass.empty());
    QCOMPARE(s->inputMap.prediction.size(), size_t(64 * 64) * s->probe.prediction.size() / s->probe.rows);
  }

  void vulkanStepOnce() {
    Rig rig("vulkan");
    QSignalSpy errors(rig.controller, &TrainingController::error);
    rig.sync([&] { rig.controller->reset(defaultSpec()); });
    if (errors.count()) {
      if (qEnvironmentVariableIsSet("ROUTELAB_ALLOW_NO_VULKAN")) QSKIP(qPrintable(errors.at(0).at(0).toString()));
      QFAIL(qPrintable(errors.at(0).at(0).toString()));
    }
    QCOMPARE(rig.latest()->backendName, std::string("vulkan"));
    rig.post([&] { rig.controller->stepOnce(); });
    RunSnapshotPtr s = rig.waitForPausedAt(1);
    QVERIFY(s);
    QCOMPARE(s->history.size(), size_t(1));
    QVERIFY(std::isfinite(s->history[0].loss));
  }
};

QTEST_GUILESS_MAIN(TestController)
#include "test_controller.moc"
