// The real main window under xvfb, driven by keys and its public slots, on the CPU backend:
// play/pause, single steps, save/reopen, a corrupt project, figure export, settings scope and
// the unattended screenshot mode. Checks what the views and the controller actually hold.
#include <QAction>
#include <QDockWidget>
#include <QFile>
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

#include "run/training_controller.h"
#include "spec/presets.h"
#include "spec/spec_json.h"
#include "views/input_map_view.h"
#include "views/load_view.h"
#include "views/routing_view.h"
#include "window/figure_export.h"
#include "edit/spec_editor.h"
#include "window/main_window.h"
#include "window/run_controls.h"
#include "window/status_panel.h"
#include "window/unattended_runs.h"
#include "window/window_settings.h"

using namespace rl::ui;

class MainWindowTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir settingsDir_;
  QTemporaryDir files_;
  std::unique_ptr<MainWindow> window_;

  // Polls the snapshot the views last drew until pred holds; null on timeout.
  RunSnapshotPtr waitForShown(const std::function<bool(const RunSnapshot&)>& pred, int timeoutMs = 10000) {
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < timeoutMs) {
      const RunSnapshotPtr s = window_->shownSnapshot();
      if (s && pred(*s)) return s;
      QTest::qWait(5);
    }
    return nullptr;
  }
  RunSnapshotPtr waitForPausedAt(int step) {
    return waitForShown([step](const RunSnapshot& s) { return !s.playing && s.step == step; });
  }
  template <class View>
  View* view() const {
    View* v = window_->findChild<View*>();
    if (!v) qFatal("the window has no %s", View::staticMetaObject.className());
    return v;
  }
  // Shortcuts fire only in the active window: make sure it still is before each key.
  void press(Qt::Key key, Qt::KeyboardModifiers modifiers = Qt::NoModifier) {
    window_->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(window_.get()));
    QTest::keyClick(window_.get(), key, modifiers);
  }

 private slots:
  void initTestCase() {
    // Settings go to a temporary directory, never to the user's ~/.config.
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsDir_.path());
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir_.path());
    QVERIFY(settingsDir_.isValid() && files_.isValid());
  }

  void init() {
    MainWindow::Options options;
    options.backend = "cpu";
    options.spec = rl::loadPreset(rl::kDefaultPreset);
    options.restoreLayout = false;
    window_ = std::make_unique<MainWindow>(options);
    window_->resize(1600, 960);
    window_->show();
    window_->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(window_.get()));
    QVERIFY2(waitForPausedAt(0), "the first run was not drawn");
  }

  void cleanup() { window_.reset(); }

  // The default layout fits a laptop's 1280 x 800 screen: the docks' minimum sizes add up to less
  // (they added up to 962 px before the plots' minimum heights came down).
  void defaultLayoutFitsA1280x800Screen() {
    const QSize least = window_->minimumSizeHint().expandedTo(window_->minimumSize());
    QVERIFY2(least.width() <= 1280 && least.height() <= 800,
             qPrintable(QString("minimum %1 x %2").arg(least.width()).arg(least.height())));
    window_->resize(1280, 800);
    QTRY_COMPARE(window_->size(), QSize(1280, 800));
  }

  void opensPausedOnTheDefaultPresetWithItsDescription() {
    const RunSnapshotPtr s = window_->shownSnapshot();
    QCOMPARE(QString::fromStdString(s->spec.name), QString(rl::kDefaultPreset));
    QVERIFY(!s->playing);
    QCOMPARE(s->step, 0);
    QVERIFY(!window_->runControls()->playing());
    QCOMPARE(window_->runControls()->playPause()->text(), QString("Play"));
    // Status bar: backend and device from the snapshot, the step counter.
    QVERIFY2(window_->statusPanel()->backendText().startsWith(QString::fromStdString(s->backendName)),
             qPrintable(window_->statusPanel()->backendText()));
    QVERIFY(window_->statusPanel()->backendText().contains("cpu"));
    QCOMPARE(window_->statusPanel()->stepText(), QString("step 0"));
    // "What to look for" shows the preset's description; every preset is in the Presets menu
    // with its description as status tip.
    const QString description = QString::fromStdString(rl::loadPreset(rl::kDefaultPreset).description);
    auto* box = window_->findChild<QWidget*>("lookForBox");
    QVERIFY(box && box->isVisible());
    QVERIFY(!description.isEmpty());
    QVERIFY(box->findChild<QLabel*>()->text() == description);
    for (const std::string& name : rl::presetNames()) {
      auto* action = window_->findChild<QAction*>("preset-" + QString::fromStdString(name));
      QVERIFY2(action, name.c_str());
      QCOMPARE(action->statusTip(), QString::fromStdString(rl::loadPreset(name).description));
    }
  }

  void playThenPauseFeedsEveryView() {
    window_->setSpeed(300);
    press(Qt::Key_Space);
    QVERIFY(window_->runControls()->playing());
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.playing && s.step > 50; }));
    press(Qt::Key_Space);
    QCOMPARE(window_->runControls()->playPause()->text(), QString("Play"));
    // Pause takes effect within one step; the frame after it shows the paused run.
    const RunSnapshotPtr paused = waitForShown([](const RunSnapshot& s) { return !s.playing; }, 3000);
    QVERIFY(paused);
    const int step = paused->step;
    QVERIFY2(step > 50, qPrintable(QString::number(step)));
    QTest::qWait(300);
    QCOMPARE(window_->controller()->latest()->step, step);  // it stays paused
    QCOMPARE(window_->statusPanel()->stepText(), QString("step %1").arg(step));
    QVERIFY(window_->frameStats().total() >= 3);

    // Each view holds data from the run.
    auto* routing = view<RoutingView>();
    QCOMPARE(routing->heatmapColumns(), 8);
    QCOMPARE(routing->heatmapRows(), paused->probe.rows);
    QVERIFY(routing->heatmapRows() > 0);
    double rowSum = 0;
    for (int e = 0; e < 8; ++e) rowSum += routing->heatmapValue(0, e);
    QVERIFY2(std::abs(rowSum - 1) < 1e-3, qPrintable(QString::number(rowSum)));  // gate probabilities
    auto* map = view<InputMapView>();
    QCOMPARE(map->mapResolution(), paused->inputMap.resolution);
    QVERIFY(map->mapResolution() > 0);
    QCOMPARE(map->pointCount(), paused->probe.rows);
  }

  void stepRunsExactlyOneStep() {
    press(Qt::Key_S);
    const RunSnapshotPtr s = waitForShown([](const RunSnapshot& s) { return s.step > 0; });
    QVERIFY(s);
    QCOMPARE(s->step, 1);
    QTest::qWait(300);
    QCOMPARE(window_->controller()->latest()->step, 1);
    QCOMPARE(int(window_->shownSnapshot()->history.size()), 1);
    QCOMPARE(window_->shownSnapshot()->history.back().step, 1);
    QCOMPARE(window_->statusPanel()->stepText(), QString("step 1"));
    // A second press: step 2, again exactly one.
    press(Qt::Key_S);
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.step > 1; }));
    QTest::qWait(200);
    QCOMPARE(window_->controller()->latest()->step, 2);
  }

  void expertEditUndoRedoRebuildsTheRun() {
    window_->stepN(20);
    QVERIFY(waitForPausedAt(20));
    auto* load = view<LoadView>();
    QCOMPARE(load->barCount(), 8);
    auto experts = [](const RunSnapshot& s) { return s.spec.model.layers[0].experts; };

    // Type 12 into the panel's expert count the way a user does.
    auto* field = window_->specEditor()->findChild<QSpinBox*>("experts");
    QVERIFY(field);
    field->setFocus();
    QTest::keyClick(field, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(field, "12");
    QTest::keyClick(field, Qt::Key_Return);
    RunSnapshotPtr s = waitForShown([&](const RunSnapshot& s) { return experts(s) == 12; });
    QVERIFY(s);
    QCOMPARE(s->step, 20);  // the run goes on from where it was, with the weights that fit
    QCOMPARE(window_->undoStack()->count(), 1);
    QTRY_COMPARE(load->barCount(), 12);
    QVERIFY(s->latest.moe[0].load.empty());  // no step on the new experts yet: no stale figures
    QCOMPARE(s->layers[0].experts, 12);

    // Ctrl+Z from the window (not from inside the field, whose text has an undo of its own).
    window_->centralWidget() ? window_->centralWidget()->setFocus() : window_->setFocus();
    press(Qt::Key_Z, Qt::ControlModifier);
    QVERIFY(waitForShown([&](const RunSnapshot& s) { return experts(s) == 8; }));
    QTRY_COMPARE(load->barCount(), 8);
    QCOMPARE(field->value(), 8);
    QCOMPARE(window_->specEditor()->spec().model.layers[0].experts, 8);

    press(Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
    QVERIFY(waitForShown([&](const RunSnapshot& s) { return experts(s) == 12; }));
    QTRY_COMPARE(load->barCount(), 12);
    QCOMPARE(field->value(), 12);

    // The rebuilt run trains: one more step moves every layer's metrics on with 12 experts.
    press(Qt::Key_S);
    s = waitForShown([](const RunSnapshot& s) { return s.step == 21; });
    QVERIFY(s);
    QCOMPARE(int(s->latest.moe[0].load.size()), 12);
  }

  void saveAndReopenRestoresTheHistory() {
    window_->stepN(60);
    QVERIFY(waitForPausedAt(60));
    const QString path = files_.filePath("run.routelab");
    QSignalSpy saved(window_->controller(), &TrainingController::projectSaved);
    window_->saveProjectAs(path);
    QVERIFY(saved.wait(5000));
    QTRY_COMPARE(window_->projectPath(), path);
    QVERIFY(window_->windowTitle().contains("run.routelab"));
    QCOMPARE(window_->recentFiles().value(0), QFileInfo(path).absoluteFilePath());
    const std::vector<HistoryPoint> before = window_->shownSnapshot()->history;
    QCOMPARE(int(before.size()), 60);

    press(Qt::Key_R);  // a fresh run: history gone
    QVERIFY(waitForPausedAt(0));
    QVERIFY(window_->shownSnapshot()->history.empty());

    window_->openProject(path);
    const RunSnapshotPtr reopened = waitForPausedAt(60);
    QVERIFY(reopened);
    QCOMPARE(reopened->history.size(), before.size());
    for (size_t i = 0; i < before.size(); ++i) {
      QCOMPARE(reopened->history[i].step, before[i].step);
      QCOMPARE(reopened->history[i].loss, before[i].loss);
      QCOMPARE(reopened->history[i].accuracy, before[i].accuracy);
      QCOMPARE(reopened->history[i].layers.at(0).load, before[i].layers.at(0).load);
    }
    QCOMPARE(rl::specToJson(window_->currentSpec()), rl::specToJson(reopened->spec));
    QVERIFY(window_->lastError().isEmpty());
  }

  void corruptProjectShowsWhyAndChangesNothing() {
    window_->stepN(5);
    QVERIFY(waitForPausedAt(5));
    // A real project cut in half: a valid header whose tensors run past the end of the file.
    const QString good = files_.filePath("good.routelab");
    QSignalSpy saved(window_->controller(), &TrainingController::projectSaved);
    window_->saveProjectAs(good);
    QVERIFY(saved.wait(5000));
    QFile file(good);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray bytes = file.readAll();
    file.close();
    const QString bad = files_.filePath("cut.routelab");
    QFile cut(bad);
    QVERIFY(cut.open(QIODevice::WriteOnly));
    cut.write(bytes.left(bytes.size() / 2));
    cut.close();

    const RunSnapshotPtr before = window_->shownSnapshot();
    const QString pathBefore = window_->projectPath();
    const QString titleBefore = window_->windowTitle();
    QSignalSpy errors(window_.get(), &MainWindow::errorShown);
    window_->openProject(bad);
    QVERIFY(errors.wait(5000));
    const QString message = errors.takeFirst().at(0).toString();
    QVERIFY2(message.contains("cut.routelab"), qPrintable(message));
    QVERIFY2(message.contains("Cannot open"), qPrintable(message));
    QCOMPARE(window_->bannerText(), message);  // shown, not only logged
    QCOMPARE(window_->lastError(), message);

    QTest::qWait(200);
    const RunSnapshotPtr after = window_->controller()->latest();
    QCOMPARE(after->step, 5);
    QCOMPARE(after->history.size(), before->history.size());
    QCOMPARE(rl::specToJson(after->spec), rl::specToJson(before->spec));
    QCOMPARE(window_->projectPath(), pathBefore);
    QCOMPARE(window_->windowTitle(), titleBefore);

    // Plain garbage too.
    const QString junk = files_.filePath("junk.routelab");
    QFile junkFile(junk);
    QVERIFY(junkFile.open(QIODevice::WriteOnly));
    junkFile.write("this is not a project");
    junkFile.close();
    window_->openProject(junk);
    QVERIFY(errors.wait(5000));
    QVERIFY(window_->bannerText().contains("junk.routelab"));
    QCOMPARE(window_->controller()->latest()->step, 5);

    // Dismissing the banner hides it.
    auto* dismiss = window_->findChild<QPushButton*>("dismissBanner");
    QVERIFY(dismiss);
    QTest::mouseClick(dismiss, Qt::LeftButton);
    QCOMPARE(window_->bannerText(), QString());
  }

  void exportAllFiguresWritesEveryView() {
    window_->stepN(20);
    QVERIFY(waitForPausedAt(20));
    const QString dir = files_.filePath("figures");
    const QStringList errors = window_->exportAllFigures(dir);
    QVERIFY2(errors.isEmpty(), qPrintable(errors.join('\n')));
    QVERIFY(window_->figureViews().size() >= 2);
    for (FigureView* v : window_->figureViews()) {
      for (const QString ext : {"png", "svg", "pdf"}) {
        const QFileInfo f(QDir(dir).filePath(figureFileStem(v->title()) + "." + ext));
        QVERIFY2(f.exists() && f.size() > 1000, qPrintable(f.filePath()));
      }
    }
    QVERIFY(!QImage(QDir(dir).filePath("routing-decisions.png")).isNull());
  }

  void layoutAndRecentFilesPersistInTheTestScope() {
    const QString path = files_.filePath("recent.routelab");
    WindowSettings::addRecentFile(path);
    QCOMPARE(WindowSettings::recentFiles().value(0), QFileInfo(path).absoluteFilePath());
    // The Spec dock closed, the window closed: the next window (restoring) has it closed too.
    auto* spec = window_->findChild<QDockWidget*>("dock-spec");
    QVERIFY(spec);
    spec->close();
    window_->close();
    QSettings s("Routelab", "routelab");
    QVERIFY2(s.fileName().startsWith(settingsDir_.path()), qPrintable(s.fileName()));
    QVERIFY(!s.value("window/state").toByteArray().isEmpty());
    window_.reset();

    MainWindow::Options options;
    options.backend = "cpu";
    options.spec = rl::loadPreset(rl::kDefaultPreset);
    window_ = std::make_unique<MainWindow>(options);  // restoreLayout defaults to true
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    QVERIFY(!window_->findChild<QDockWidget*>("dock-spec")->isVisible());
    QCOMPARE(window_->recentFiles().value(0), QFileInfo(path).absoluteFilePath());
    // View → Reset layout brings every dock back.
    window_->resetLayout();
    for (QDockWidget* dock : window_->docks()) QVERIFY2(dock->isVisible(), qPrintable(dock->objectName()));
    window_->close();  // saves the restored layout for the next test run
  }

  void screenshotModeCapturesTheWholeWindowAtStepN() {
    const QString path = files_.filePath("shot.png");
    ScreenshotRun run(*window_, 25, path);
    QSignalSpy finished(&run, &ScreenshotRun::finished);
    run.start();
    QVERIFY(finished.wait(20000));
    QCOMPARE(finished.at(0).at(0).toInt(), 0);
    QVERIFY2(finished.at(0).at(1).toString().contains("step 25"), qPrintable(finished.at(0).at(1).toString()));
    const QImage image(path);
    QCOMPARE(image.size(), window_->size() * window_->devicePixelRatio());
    // Not blank: the views drew something with many colours.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7)
      for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
    QVERIFY2(colours.size() > 50, qPrintable(QString::number(colours.size())));
    QCOMPARE(window_->shownSnapshot()->step, 25);
  }
};

QTEST_MAIN(MainWindowTest)
#include "test_main_window.moc"
