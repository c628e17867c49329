// The real main window with a Transformer (the tiny-transformer-moe preset, chosen from the
// Presets menu) under xvfb on the CPU backend: stepping, playing, the token routing dock, the
// Transformer section of the spec editor with undo/redo, and what the routing and input-map views
// say about token data.
#include <QAction>
#include <QDockWidget>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>
#include <QtWidgets>
#include <functional>
#include <memory>

#include "edit/spec_editor.h"
#include "spec/presets.h"
#include "spec/spec_json.h"
#include "views/collapse_view.h"
#include "views/input_map_view.h"
#include "views/load_view.h"
#include "views/representations_view.h"
#include "views/routing_view.h"
#include "views/token_routing_view.h"
#include "window/main_window.h"

using namespace rl::ui;

namespace {
constexpr const char* kPreset = "tiny-transformer-moe";
}

class TransformerWindowTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir settingsDir_;
  std::unique_ptr<MainWindow> window_;

  RunSnapshotPtr waitForShown(const std::function<bool(const RunSnapshot&)>& pred, int timeoutMs = 20000) {
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < timeoutMs) {
      const RunSnapshotPtr s = window_->shownSnapshot();
      if (s && pred(*s)) return s;
      QTest::qWait(5);
    }
    return nullptr;
  }
  template <class View>
  View* view() const {
    View* v = window_->findChild<View*>();
    if (!v) qFatal("the window has no %s", View::staticMetaObject.className());
    return v;
  }
  template <class Field>
  Field* field(const char* name) const {
    auto* f = window_->specEditor()->findChild<Field*>(name);
    if (!f) qFatal("the spec editor has no field %s", name);
    return f;
  }
  // Switches to the preset the way a user does: its action in the Presets menu.
  void openPresetFromMenu() {
    auto* action = window_->findChild<QAction*>(QString("preset-") + kPreset);
    QVERIFY2(action, "no Presets menu entry for tiny-transformer-moe");
    action->trigger();
    QVERIFY2(waitForShown([](const RunSnapshot& s) { return s.spec.name == kPreset && !s.playing && s.step == 0; }),
             "the Transformer run was not drawn");
  }
  // The routing view must never call token data regression data.
  void checkNoRegressionNote() {
    auto* routing = view<RoutingView>();
    QVERIFY2(!routing->matrixNote().contains("egression"), qPrintable(routing->matrixNote()));
  }

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsDir_.path());
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir_.path());
    QVERIFY(settingsDir_.isValid());
  }

  void init() {
    MainWindow::Options options;
    options.backend = "cpu";
    options.spec = rl::loadPreset(rl::kDefaultPreset);
    options.restoreLayout = false;
    window_ = std::make_unique<MainWindow>(options);
    window_->resize(1600, 960);
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.step == 0; }));
    openPresetFromMenu();
  }

  void cleanup() { window_.reset(); }

  void editorShowsTheTransformerSection() {
    auto* section = window_->specEditor()->findChild<QGroupBox*>();
    QVERIFY(section);
    bool transformerShown = false, modelShown = false;
    for (auto* box : window_->specEditor()->findChildren<QGroupBox*>()) {
      if (box->title() == "Transformer") transformerShown = box->isVisible();
      if (box->title() == "Model" || box->title() == "Router") modelShown = modelShown || box->isVisible();
    }
    QVERIFY(transformerShown);
    QVERIFY(!modelShown);
    const rl::Spec preset = rl::loadPreset(kPreset);
    QCOMPARE(field<QSpinBox>("vocabulary")->value(), preset.model.transformer.vocabulary);
    QCOMPARE(field<QSpinBox>("transformerLayers")->value(), 2);
    QCOMPARE(field<QSpinBox>("tfExperts")->value(), 4);
    QCOMPARE(field<QSpinBox>("tfK")->value(), 2);
    QCOMPARE(field<QComboBox>("tokenRouter")->currentText(), QString("Token choice (top-k)"));
    // The token stream's fields: its kind is listed and selected, its task count shown.
    auto* kind = field<QComboBox>("dataKind");
    QCOMPARE(kind->currentData().toString(), QString("multi_task"));
    QVERIFY(kind->findData(QString("multi_language")) >= 0);
    QVERIFY(field<QSpinBox>("tokenGroups")->isVisible());
    QCOMPARE(field<QSpinBox>("tokenGroups")->value(), 3);
    QCOMPARE(window_->specEditor()->problemText(), QString());

    // Back to an MLP preset: the MLP sections and 2-D data kinds return.
    window_->findChild<QAction*>(QString("preset-") + rl::kDefaultPreset)->trigger();
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.spec.name == rl::kDefaultPreset && s.step == 0; }));
    for (auto* box : window_->specEditor()->findChildren<QGroupBox*>()) {
      if (box->title() == "Transformer") QVERIFY(!box->isVisible());
      if (box->title() == "Model" || box->title() == "Router") QVERIFY(box->isVisible());
    }
    QCOMPARE(kind->currentData().toString(), QString::fromStdString(rl::loadPreset(rl::kDefaultPreset).data.kind));
    QVERIFY(kind->findData(QString("multi_task")) < 0);
    QVERIFY(!field<QSpinBox>("tokenGroups")->isVisible());
    QCOMPARE(window_->specEditor()->problemText(), QString());
  }

  void stepOnceTakesExactlyOneStep() {
    window_->stepOnce();
    const RunSnapshotPtr s = waitForShown([](const RunSnapshot& s) { return s.step >= 1 && !s.playing; });
    QVERIFY(s);
    QTest::qWait(300);  // nothing more arrives
    QCOMPARE(window_->shownSnapshot()->step, 1);
    QCOMPARE(window_->shownSnapshot()->history.size(), size_t(1));
  }

  void playThenPauseFeedsTheViews() {
    window_->play();
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.playing && s.step > 20; }, 60000));
    window_->pause();
    const RunSnapshotPtr s = waitForShown([](const RunSnapshot& s) { return !s.playing; }, 5000);
    QVERIFY(s);
    QVERIFY(s->step > 20);

    // Snapshot: token routing for both layers over the first probe sequence.
    QVERIFY(s->tokenRouting.has_value());
    const TokenRouting& r = *s->tokenRouting;
    QCOMPARE(r.layers, 2);
    QCOMPARE(int(r.tokens.size()), 12);
    QCOMPARE(r.experts, (std::vector<int>{4, 4}));
    QCOMPARE(int(r.flow.size()), 1);
    QCOMPARE(tokenRoutingProblem(r), std::string());
    double flowTokens = 0;
    for (const auto& row : r.flow[0]) flowTokens += rowTotal(row);
    QVERIFY2(flowTokens > 0 && flowTokens <= r.sequences * 12.0, qPrintable(QString::number(flowTokens)));
    QCOMPARE(s->groupKind, std::string("task"));
    QCOMPARE(s->groupNames.size(), size_t(3));

    // Load view: 4 bars on each layer.
    auto* load = view<LoadView>();
    QTRY_COMPARE(load->layerCount(), 2);
    for (int layer = 0; layer < 2; ++layer) {
      load->setCurrentLayer(layer);
      QTRY_COMPARE(load->barCount(), 4);
      // Capacity is a share of the batch's token choices: ceil(1.25 · 32·12 · 2 / 4) = 240 of
      // 32·12·2 = 768 choices (not of 32 sequences · 2).
      QCOMPARE(load->capacityShare(), 240.0 / 768.0);
      QVERIFY2(load->headingText().contains("token choice top-2"), qPrintable(load->headingText()));
    }

    // Collapse view: per layer too; switching the layer switches the heading's layer and verdict.
    auto* collapse = view<CollapseView>();
    QTRY_COMPARE(collapse->layerCount(), 2);
    for (int layer = 0; layer < 2; ++layer) {
      collapse->setCurrentLayer(layer);
      QVERIFY2(collapse->headingText().contains(QString("layer %1").arg(layer + 1)), qPrintable(collapse->headingText()));
    }

    // Token routing dock: raised for a Transformer, drawing cells.
    auto* dock = window_->findChild<QDockWidget*>("dock-tokenRouting");
    QVERIFY(dock);
    auto* tokens = view<TokenRoutingView>();
    QTRY_VERIFY(tokens->isVisible());
    QTRY_VERIFY2(tokens->showsRouting(), qPrintable(tokens->noteText()));
    QVERIFY(tokens->shownTokens() > 0);
    QVERIFY(!tokens->tokenCellRect(0, 0).isEmpty());
    QVERIFY(!tokens->tokenCellRect(1, 0).isEmpty());
    QVERIFY(!tokens->flowCellRect(0, 0, 0).isEmpty());
    // ... and the pixels of a routed token's cell are its expert's colour (not the background).
    const int expert = r.chosen[0][0];
    if (expert >= 0) {
      const QImage shot = tokens->grab().toImage();
      const QPoint centre = tokens->tokenCellRect(0, 0).center();
      const QColor drawn = shot.pixelColor(centre * shot.devicePixelRatio());
      QVERIFY2(drawn != QColor(Qt::white), qPrintable(drawn.name()));
    }

    // A lasso in the Representations view (its rowsSelected signal) outlines the sample's selected
    // tokens and restricts the flow to the selected probe tokens (rows past the probe are ignored).
    QCOMPARE(int(r.probeChosen.size()), 2);
    QCOMPARE(int(r.probeChosen[0].size()), r.sequences * 12);
    const QVector<int> lassoed = {0, 2, 12, 13, 1000000};
    emit window_->representationsView()->rowsSelected(lassoed);
    QVERIFY(tokens->tokenSelected(0) && tokens->tokenSelected(2) && !tokens->tokenSelected(1));
    QCOMPARE(tokens->selectedProbeTokens(), 4);
    QCOMPARE(tokens->shownFlow(), selectionFlow(r, std::vector<int>(lassoed.begin(), lassoed.end())));
    emit window_->representationsView()->rowsSelected({});
    QVERIFY(!tokens->hasSelection());
    QCOMPARE(tokens->shownFlow(), r.flow);
    // The other way round: a token clicked in the token routing view is selected everywhere (no
    // embedding on screen here, so the Representations view passes the row on as it is).
    QTest::mouseClick(tokens, Qt::LeftButton, {}, tokens->tokenCellRect(1, 3).center());
    QTRY_VERIFY(tokens->tokenSelected(3));
    QCOMPARE(window_->routingView()->highlightedRows(), std::vector<int>({3}));
    QTest::mouseClick(tokens, Qt::LeftButton, {}, tokens->tokenCellRect(0, 3).center());
    QTRY_VERIFY(!tokens->hasSelection());

    // Routing view: task × expert over held-out tokens, never "regression".
    auto* routing = view<RoutingView>();
    checkNoRegressionNote();
    QTRY_VERIFY2(routing->matrixShown(), qPrintable(routing->matrixNote()));
    QCOMPARE(routing->matrixRowKind(), QString("task"));
    QCOMPARE(routing->matrixClasses(), 3);
    QCOMPARE(routing->matrixExperts(), 4);
    QVERIFY(routing->matrixTitle().startsWith("Task"));
    QCOMPARE(routing->matrixRowLabel(0), QString::fromStdString(s->groupNames[0]));

    // Input map: says why there is no map.
    auto* map = view<InputMapView>();
    QVERIFY2(map->noteText().contains("needs 2-D input; this model reads token sequences"),
             qPrintable(map->noteText()));
  }

  // Switching the objective to next-token prediction is one valid, undoable edit: causal attention
  // on, and the preset's top-2 token-choice layers lose their capacity limit (docs/spec.md).
  void switchingToNextTokenIsOneValidEdit() {
    const rl::Spec before = window_->specEditor()->spec();
    QCOMPARE(before.model.transformer.layers[1].router.capacityFactor, 1.25);
    const int commands = window_->undoStack()->count();
    auto* task = field<QComboBox>("sequenceTask");
    task->setCurrentIndex(task->findData(int(rl::SequenceTask::NextToken)));
    QCOMPARE(window_->specEditor()->problemText(), QString());
    QCOMPARE(window_->undoStack()->count(), commands + 1);
    const rl::Spec after = window_->specEditor()->spec();
    QCOMPARE(after.model.transformer.task, rl::SequenceTask::NextToken);
    QVERIFY(after.model.transformer.causal);
    for (const rl::TransformerLayerSpec& L : after.model.transformer.layers) QCOMPARE(L.router.capacityFactor, 0.0);
    QCOMPARE(field<QDoubleSpinBox>("tfCapacityFactor")->value(), 0.0);
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.spec.model.transformer.task == rl::SequenceTask::NextToken; }));
    // A capacity limit on a top-2 layer is then refused inline, not applied.
    field<QDoubleSpinBox>("tfCapacityFactor")->setValue(1.25);
    QVERIFY2(window_->specEditor()->problemText().contains("capacity"), qPrintable(window_->specEditor()->problemText()));
    field<QDoubleSpinBox>("tfCapacityFactor")->setValue(0.0);
    window_->undoStack()->undo();
    QCOMPARE(rl::specToJson(window_->specEditor()->spec()), rl::specToJson(before));
  }

  void editsInTheTransformerSectionUndoAndRedo() {
    window_->stepN(3);
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.step == 3 && !s.playing; }));
    const rl::Spec before = window_->specEditor()->spec();
    const int commands = window_->undoStack()->count();

    // k of layer 1: 2 -> 1, applied to the run (weights carried over).
    auto* k = field<QSpinBox>("tfK");
    k->setValue(1);
    QCOMPARE(window_->specEditor()->problemText(), QString());
    QCOMPARE(window_->undoStack()->count(), commands + 1);
    QCOMPARE(window_->specEditor()->spec().model.transformer.layers[0].router.k, 1);
    QCOMPARE(window_->specEditor()->spec().model.transformer.layers[1].router.k, 2);
    QCOMPARE(window_->undoStack()->text(commands), QString("Set layer 1 k to 1"));
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.spec.model.transformer.layers[0].router.k == 1; }));
    QVERIFY2(QString::fromStdString(window_->shownSnapshot()->message).startsWith("applied at step 3"),
             window_->shownSnapshot()->message.c_str());

    // Experts of layer 2 (picked in the layer list): 4 -> 6; the load view follows.
    auto* layerBox = field<QComboBox>("transformerLayer");
    QVERIFY(layerBox->isVisibleTo(window_->specEditor()));
    layerBox->setCurrentIndex(1);
    QCOMPARE(window_->specEditor()->selectedTransformerLayer(), 1);
    QCOMPARE(field<QSpinBox>("tfK")->value(), 2);  // layer 2's own k on show
    QTest::qWait(1100);  // past the merge pause: a separate command
    field<QSpinBox>("tfExperts")->setValue(6);
    QCOMPARE(window_->undoStack()->count(), commands + 2);
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.layers.size() == 2 && s.layers[1].experts == 6; }));
    auto* load = view<LoadView>();
    load->setCurrentLayer(1);
    QTRY_COMPARE(load->barCount(), 6);

    // An invalid value is shown inline with its field and not applied: k above the experts.
    field<QSpinBox>("tfK")->setValue(7);
    QVERIFY2(window_->specEditor()->problemText().contains("k"), qPrintable(window_->specEditor()->problemText()));
    QCOMPARE(window_->undoStack()->count(), commands + 2);
    QCOMPARE(window_->specEditor()->spec().model.transformer.layers[1].router.k, 2);
    field<QSpinBox>("tfK")->setValue(2);
    QCOMPARE(window_->specEditor()->problemText(), QString());

    // Undo twice: the preset's spec again, in the editor and in the run.
    window_->undoStack()->undo();
    window_->undoStack()->undo();
    QCOMPARE(rl::specToJson(window_->specEditor()->spec()), rl::specToJson(before));
    QCOMPARE(field<QSpinBox>("tfK")->value(), 2);
    QVERIFY(waitForShown([](const RunSnapshot& s) {
      return s.layers.size() == 2 && s.layers[1].experts == 4 && s.spec.model.transformer.layers[0].router.k == 2;
    }));
    // Redo both.
    window_->undoStack()->redo();
    window_->undoStack()->redo();
    const rl::Spec redone = window_->specEditor()->spec();
    QCOMPARE(redone.model.transformer.layers[0].router.k, 1);
    QCOMPARE(redone.model.transformer.layers[1].experts, 6);
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.layers.size() == 2 && s.layers[1].experts == 6; }));
    checkNoRegressionNote();
  }

  void tokenRoutingIsInTheViewMenuAndTheFigureExport() {
    bool inViewMenu = false;
    for (QAction* action : window_->menuBar()->actions())
      if (action->menu() && action->text().remove('&') == "View")
        for (QAction* entry : action->menu()->actions()) inViewMenu = inViewMenu || entry->text() == "Token routing";
    QVERIFY(inViewMenu);
    window_->stepN(5);
    QVERIFY(waitForShown([](const RunSnapshot& s) { return s.step == 5 && !s.playing && s.tokenRouting; }));
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QStringList errors = window_->exportAllFigures(dir.path());
    QVERIFY2(errors.isEmpty(), qPrintable(errors.join('\n')));
    for (const QString ext : {"png", "svg", "pdf"}) {
      const QFileInfo f(QDir(dir.path()).filePath("token-routing." + ext));
      QVERIFY2(f.exists() && f.size() > 1000, qPrintable(f.filePath()));
    }
  }

  void spinBoxStepsMergeIntoOneCommand() {
    const int commands = window_->undoStack()->count();
    auto* width = field<QSpinBox>("expertWidth");
    width->stepUp();
    width->stepUp();  // within the merge pause: the same command
    QCOMPARE(window_->undoStack()->count(), commands + 1);
    QCOMPARE(window_->undoStack()->text(commands), QString("Set layer 1 expert width to 80"));
    window_->undoStack()->undo();
    QCOMPARE(window_->specEditor()->spec().model.transformer.layers[0].expertWidth, 64);
    QCOMPARE(width->value(), 64);
  }

  void multiLanguageTokensAreCountedByLanguage() {
    auto* kind = field<QComboBox>("dataKind");
    kind->setCurrentIndex(kind->findData(QString("multi_language")));
    // 16 tokens are too few for 3 languages: said where the vocabulary is edited, not applied.
    const QString problem = window_->specEditor()->problemText();
    QVERIFY2(problem.startsWith("vocabulary: 16 gives"), qPrintable(problem));
    QCOMPARE(field<QSpinBox>("vocabulary")->palette().color(QPalette::Base), QColor(0xfd, 0xe2, 0xe2));
    QCOMPARE(window_->specEditor()->spec().data.kind, std::string("multi_task"));
    field<QSpinBox>("vocabulary")->setValue(24);
    QCOMPARE(window_->specEditor()->problemText(), QString());
    QCOMPARE(window_->specEditor()->spec().data.kind, std::string("multi_language"));
    auto* groups = window_->specEditor()->findChild<QSpinBox*>("tokenGroups");
    QCOMPARE(groups->value(), window_->specEditor()->spec().data.languages);
    window_->stepN(30);
    const RunSnapshotPtr s = waitForShown([](const RunSnapshot& s) {
      return s.spec.data.kind == "multi_language" && s.step == 30 && !s.playing;
    }, 60000);
    QVERIFY(s);
    QCOMPARE(s->groupKind, std::string("language"));
    auto* routing = view<RoutingView>();
    QTRY_VERIFY2(routing->matrixShown(), qPrintable(routing->matrixNote()));
    QCOMPARE(routing->matrixRowKind(), QString("language"));
    QCOMPARE(routing->matrixClasses(), s->spec.data.languages);
    QVERIFY2(routing->matrixTitle().startsWith("Language"), qPrintable(routing->matrixTitle()));
    QVERIFY(s->tokenRouting.has_value());
    QCOMPARE(s->spec.model.transformer.vocabulary, 24);
    QCOMPARE(s->spec.data.vocabulary, 24);
  }

  void invalidEditsShowInlineAndRouterSwitchesApply() {
    // Every router type is offered; an invalid value names its field and leaves the run alone.
    auto* router = field<QComboBox>("tokenRouter");
    QCOMPARE(router->count(), 6);
    const int commands = window_->undoStack()->count();
    field<QSpinBox>("heads")->setValue(3);  // d_model 32 is not divisible by 3
    QVERIFY2(window_->specEditor()->problemText().contains("heads"), qPrintable(window_->specEditor()->problemText()));
    QCOMPARE(window_->undoStack()->count(), commands);
    QCOMPARE(window_->specEditor()->spec().model.transformer.heads, 2);
    field<QSpinBox>("heads")->setValue(2);
    QCOMPARE(window_->specEditor()->problemText(), QString());

    const rl::Spec before = window_->specEditor()->spec();
    // Expert choice for the selected layer: the switch zeroes the aux and z-loss coefficients expert choice
    // has no loss for (validation would refuse them), so it applies as one undoable edit.
    router->setCurrentIndex(router->findData(int(rl::TokenRouterType::ExpertChoice)));
    QCOMPARE(window_->specEditor()->problemText(), QString());
    QCOMPARE(window_->undoStack()->count(), commands + 1);
    QCOMPARE(field<QDoubleSpinBox>("tfAuxLossCoef")->value(), 0.0);
    QVERIFY(!field<QDoubleSpinBox>("tfAuxLossCoef")->isEnabled());
    const size_t layer = size_t(field<QComboBox>("transformerLayer")->currentIndex());
    QVERIFY(waitForShown([layer](const RunSnapshot& s) {
      return s.layers.size() > layer && s.layers[layer].tokenRouter == "expert_choice";
    }));
    // Undo restores token choice with its aux coefficient.
    window_->undoStack()->undo();
    const rl::TokenRouterSpec restored = window_->specEditor()->spec().model.transformer.layers.at(layer).router;
    QCOMPARE(restored.type, before.model.transformer.layers.at(layer).router.type);
    QCOMPARE(restored.auxLossCoef, before.model.transformer.layers.at(layer).router.auxLossCoef);
  }
};

QTEST_MAIN(TransformerWindowTest)
#include "test_transformer_window.moc"
