// The architecture-and-training panel: edits through its widgets become undo commands with
// readable texts, undo/redo restore the widgets, invalid values are explained and not applied,
// slider drags merge, setSpec is not an edit.
#include <QCheckBox>
#include <QComboBox>
#include <QApplication>
#include <QDir>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QWheelEvent>
#include <QUndoStack>

#include "edit/data_section.h"
#include "edit/log_rate_edit.h"
#include "edit/router_section.h"
#include "edit/spec_editor.h"
#include "run/metatypes.h"
#include "run/training_controller.h"  // Q_DECLARE_METATYPE(rl::Spec)
#include "spec/presets.h"
#include "spec/spec_json.h"
#include "train/session.h"

using rl::ui::SpecEditor;

namespace {

// One editor on the default preset, shown at dock width, with a spy on specEdited.
struct Panel {
  QUndoStack undo;
  SpecEditor editor{&undo};
  QSignalSpy edited{&editor, &SpecEditor::specEdited};

  explicit Panel(const rl::Spec& spec = rl::loadPreset("spiral-moe")) {
    editor.setSpec(spec);
    editor.resize(320, 900);
    editor.show();
  }
  template <class T>
  T* field(const char* name) {
    auto* w = editor.findChild<T*>(name);
    if (!w) qFatal("no field named %s", name);
    return w;
  }
  rl::Spec lastEdited() const { return edited.last().at(0).value<rl::Spec>(); }
  const rl::LayerSpec& layer(int i = 0) const { return spec_.model.layers[i]; }
  rl::Spec spec_;
  const rl::LayerSpec& appliedLayer(int i = 0) {
    spec_ = editor.spec();
    return spec_.model.layers[i];
  }
};

// Types text into a spin box or line edit the way a user does: select all, type, Enter.
void typeInto(QWidget* field, const QString& text) {
  field->setFocus();
  QTest::keyClick(field, Qt::Key_A, Qt::ControlModifier);
  QTest::keyClicks(field, text);
  QTest::keyClick(field, Qt::Key_Return);
}

// What the panel applies must build and train: validation alone does not prove it.
bool trainsOneStep(const rl::Spec& spec) {
  try {
    rl::Session session(spec, rl::createBackend(rl::BackendChoice::Cpu));
    return session.step().finite;
  } catch (const std::exception& e) {
    qWarning("session failed: %s", e.what());
    return false;
  }
}

void selectData(QComboBox* box, int value) {
  const int index = box->findData(value);
  QVERIFY2(index >= 0, qPrintable(box->objectName()));
  box->setCurrentIndex(index);
}

}  // namespace

class TestSpecEditor : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { rl::ui::registerMetaTypes(); }

  void setSpecShowsEveryFieldAndPushesNothing() {
    Panel p;
    rl::Spec other = rl::loadPreset("switch-balanced");
    p.editor.setSpec(other);
    QCOMPARE(p.undo.count(), 0);
    QCOMPARE(p.edited.count(), 0);
    QCOMPARE(p.field<QSpinBox>("experts")->value(), 24);
    QCOMPARE(p.field<QLineEdit>("expertWidths")->text(), QString("64"));
    QCOMPARE(p.field<QComboBox>("routerType")->currentText(), QString("Switch top-1"));
    QVERIFY(!p.field<QSpinBox>("k")->isEnabled());  // Switch is top-1
    QCOMPARE(p.field<QDoubleSpinBox>("capacityFactor")->value(), 2.0);
    QCOMPARE(p.field<QDoubleSpinBox>("auxLossCoef")->value(), 0.1);
    QCOMPARE(p.field<QComboBox>("dataKind")->currentData().toString(), QString("gaussians"));
    QCOMPARE(p.field<rl::ui::LogSpinBox>("learningRate")->value(), 0.01);
    QVERIFY(!p.field<QDoubleSpinBox>("momentum")->isEnabled());  // Adam
    QVERIFY(!p.field<QComboBox>("moeLayer")->isVisibleTo(&p.editor));  // one MoE layer: no selector
    QCOMPARE(rl::specToJson(p.editor.spec()), rl::specToJson(other));
    QVERIFY(p.editor.problemText().isEmpty());
  }

  void expertsEditIsOneCommandAndUndoRedoRestoreTheWidget() {
    Panel p;
    auto* experts = p.field<QSpinBox>("experts");
    QCOMPARE(experts->value(), 8);
    typeInto(experts, "12");
    QCOMPARE(p.undo.count(), 1);
    QCOMPARE(p.undo.text(0), QString("Set experts to 12"));
    QCOMPARE(p.appliedLayer().experts, 12);
    QCOMPARE(p.edited.count(), 1);
    QCOMPARE(p.lastEdited().model.layers[0].experts, 12);

    p.undo.undo();
    QCOMPARE(p.appliedLayer().experts, 8);
    QCOMPARE(experts->value(), 8);
    QCOMPARE(p.edited.count(), 2);
    QCOMPARE(p.lastEdited().model.layers[0].experts, 8);
    QCOMPARE(p.undo.count(), 1);  // undone, not removed

    p.undo.redo();
    QCOMPARE(p.appliedLayer().experts, 12);
    QCOMPARE(experts->value(), 12);
    QCOMPARE(p.edited.count(), 3);
    QCOMPARE(p.lastEdited().model.layers[0].experts, 12);
  }

  void invalidKIsExplainedAndNotApplied() {
    Panel p;
    auto* k = p.field<QSpinBox>("k");
    typeInto(k, "9");  // 8 experts
    QCOMPARE(p.undo.count(), 0);
    QCOMPARE(p.edited.count(), 0);
    QCOMPARE(p.appliedLayer().router.k, 2);
    QCOMPARE(k->value(), 9);  // the value stays on show so it can be corrected
    QVERIFY2(p.editor.problemText().contains("k: 9 exceeds experts (8)"), qPrintable(p.editor.problemText()));
    // Under the router's fields, where k is.
    auto* routerProblems = p.editor.findChild<rl::ui::RouterSection*>()->findChild<QLabel*>("problems");
    QVERIFY(routerProblems->isVisible());
    QCOMPARE(routerProblems->text(), QString("k: 9 exceeds experts (8)"));

    // Enough experts makes the pending k valid: both apply as one command.
    typeInto(p.field<QSpinBox>("experts"), "10");
    QCOMPARE(p.undo.count(), 1);
    QCOMPARE(p.undo.text(0), QString("Set experts to 10, k to 9"));
    QCOMPARE(p.appliedLayer().router.k, 9);
    QVERIFY(p.editor.problemText().isEmpty());
  }

  void routerTypeDisablesKWhereItDoesNotApply() {
    Panel p;
    auto* type = p.field<QComboBox>("routerType");
    auto* k = p.field<QSpinBox>("k");
    QVERIFY(k->isEnabled());
    selectData(type, int(rl::RouterType::Switch));
    QVERIFY(!k->isEnabled());
    QCOMPARE(k->value(), 1);
    QCOMPARE(p.undo.text(0), QString("Set router to Switch top-1, k to 1"));
    QCOMPARE(p.appliedLayer().router.type, rl::RouterType::Switch);
    QVERIFY(trainsOneStep(p.editor.spec()));
    selectData(type, int(rl::RouterType::Dense));
    QVERIFY(!k->isEnabled());
    QVERIFY(!p.field<QDoubleSpinBox>("capacityFactor")->isEnabled());  // dense never drops
    selectData(type, int(rl::RouterType::NoisyTopK));
    QVERIFY(k->isEnabled());
    QCOMPARE(p.undo.count(), 3);
  }

  void learningRateSliderDragIsOneCommand() {
    Panel p;
    auto* slider = p.field<QSlider>("learningRateSlider");
    auto* spin = p.field<rl::ui::LogSpinBox>("learningRate");
    const int start = slider->value();
    QCOMPARE(start, 300);  // 0.01 on a 1e-5..1 scale, 100 steps per decade
    for (int i = 1; i <= 6; ++i) slider->setValue(start - 10 * i);
    QCOMPARE(p.undo.count(), 1);
    QCOMPARE(p.edited.count(), 6);  // the run follows the drag
    QCOMPARE(p.editor.spec().train.learningRate, 0.00251);  // 10^-2.6, 3 significant digits
    QCOMPARE(spin->value(), 0.00251);
    QCOMPARE(p.undo.text(0), QString("Set learning rate to 0.00251"));

    p.undo.undo();
    QCOMPARE(p.editor.spec().train.learningRate, 0.01);
    QCOMPARE(slider->value(), start);
    QCOMPARE(spin->value(), 0.01);
  }

  void learningRateTypedOrStepped() {
    Panel p;
    auto* spin = p.field<rl::ui::LogSpinBox>("learningRate");
    auto* slider = p.field<QSlider>("learningRateSlider");
    typeInto(spin, "3e-4");
    QCOMPARE(p.editor.spec().train.learningRate, 3e-4);
    QCOMPARE(slider->value(), 148);  // 100 * (log10(3e-4) + 5)
    QCOMPARE(p.undo.text(0), QString("Set learning rate to 0.0003"));
    spin->stepBy(1);  // 1-1.5-2-3-5-7 per decade
    QCOMPARE(spin->value(), 5e-4);
    spin->stepBy(2);
    QCOMPARE(spin->value(), 1e-3);
    QCOMPARE(p.editor.spec().train.learningRate, 1e-3);
    QCOMPARE(p.undo.count(), 1);  // typed and stepped within a second: one edit
    typeInto(spin, "2");  // above the slider's range of 1e-5..1
    QCOMPARE(p.editor.spec().train.learningRate, 1e-3);
  }

  void wheelOverAnUnfocusedFieldDoesNotEdit() {
    Panel p;
    p.editor.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&p.editor));  // focus needs an active window
    auto* experts = p.field<QSpinBox>("experts");
    auto wheel = [&] {
      const QPointF at(experts->width() / 2.0, experts->height() / 2.0);
      QWheelEvent event(at, experts->mapToGlobal(at), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                        Qt::NoScrollPhase, false);
      QApplication::sendEvent(experts, &event);
    };
    p.field<QLineEdit>("expertWidths")->setFocus();
    wheel();
    QCOMPARE(experts->value(), 8);
    QCOMPARE(p.undo.count(), 0);
    experts->setFocus();
    QVERIFY(experts->hasFocus());
    wheel();
    QCOMPARE(experts->value(), 9);
    QCOMPARE(p.undo.count(), 1);
  }

  void everyFieldExplainsItself() {
    Panel p;
    int fields = 0;
    for (QWidget* w : p.editor.findChildren<QWidget*>()) {
      const bool field = qobject_cast<QAbstractSpinBox*>(w) || qobject_cast<QComboBox*>(w) ||
                         qobject_cast<QLineEdit*>(w) || qobject_cast<QCheckBox*>(w) || qobject_cast<QSlider*>(w);
      if (!field || qobject_cast<QAbstractSpinBox*>(w->parentWidget()) || qobject_cast<QComboBox*>(w->parentWidget()))
        continue;  // the line edit inside a spin box or combo
      ++fields;
      // A tooltip on the field or, for the slider/spin pair, on the row widget holding them.
      const QString tip = !w->toolTip().isEmpty() ? w->toolTip() : w->parentWidget()->toolTip();
      QVERIFY2(tip.size() > 20, qPrintable(w->objectName()));
    }
    // 25 MLP and data fields, the token streams' task/language count and the Transformer
    // section's 18 (hidden for this MLP spec, still explained).
    QCOMPARE(fields, 44);
  }

  void mergingStopsAtAnotherFieldAndAfterAPause() {
    Panel p;
    auto* experts = p.field<QSpinBox>("experts");
    experts->stepUp();
    experts->stepUp();
    QCOMPARE(p.undo.count(), 1);
    QCOMPARE(p.undo.text(0), QString("Set experts to 10"));
    p.field<QDoubleSpinBox>("temperature")->stepUp();
    experts->stepUp();
    QCOMPARE(p.undo.count(), 3);  // experts, temperature, experts again
    QTest::qWait(1100);
    experts->stepUp();
    QCOMPARE(p.undo.count(), 4);
    QCOMPARE(p.undo.text(3), QString("Set experts to 12"));
    // An undo ends the gesture too: the next step is a command of its own.
    p.undo.undo();
    experts->stepUp();
    QCOMPARE(p.undo.count(), 4);
    QCOMPARE(p.undo.index(), 4);
    QCOMPARE(p.undo.text(2), QString("Set experts to 11"));
    // Stepping back to where a gesture started leaves nothing to undo.
    experts->stepDown();
    QCOMPARE(p.undo.count(), 3);
  }

  void expertWidthsApplyWhenTypingIsDone() {
    Panel p;
    auto* widths = p.field<QLineEdit>("expertWidths");
    widths->setFocus();
    QTest::keyClick(widths, Qt::Key_A, Qt::ControlModifier);
    QTest::keyClicks(widths, "16, x");
    QVERIFY2(p.editor.problemText().contains("'x' is not a whole number"), qPrintable(p.editor.problemText()));
    QTest::keyClick(widths, Qt::Key_Return);
    QCOMPARE(p.undo.count(), 0);
    QTest::keyClick(widths, Qt::Key_Backspace);
    QTest::keyClicks(widths, "16");
    QCOMPARE(p.undo.count(), 0);  // typing only previews
    QTest::keyClick(widths, Qt::Key_Return);
    QCOMPARE(p.undo.count(), 1);
    QCOMPARE(p.undo.text(0), QString("Set expert widths to 16, 16"));
    QCOMPARE(p.appliedLayer().expertWidths, (std::vector<int>{16, 16}));
    QVERIFY(p.editor.problemText().isEmpty());
  }

  void competitiveLossNeedsTheExpertsToProduceTheOutput() {
    Panel p;
    selectData(p.field<QComboBox>("loss"), int(rl::LossType::Competitive));
    QVERIFY(!p.field<QCheckBox>("head")->isChecked());  // required by the loss, switched with it
    QCOMPARE(p.undo.count(), 0);
    QVERIFY2(p.editor.problemText().contains("expert width 2: the last width 32 must equal the data's output size (4)"),
             qPrintable(p.editor.problemText()));
    typeInto(p.field<QLineEdit>("expertWidths"), "32, 4");
    QCOMPARE(p.undo.count(), 1);
    QCOMPARE(p.undo.text(0), QString("Set loss to Competitive, output head off, expert widths to 32, 4"));
    const rl::Spec s = p.editor.spec();
    QCOMPARE(s.model.loss, rl::LossType::Competitive);
    QVERIFY(!s.model.head);
    QVERIFY(trainsOneStep(s));
  }

  void regressionDataOffersNoCrossEntropy() {
    Panel p;
    auto* loss = p.field<QComboBox>("loss");
    QVERIFY(loss->findData(int(rl::LossType::CrossEntropy)) >= 0);
    auto* kind = p.field<QComboBox>("dataKind");
    kind->setCurrentIndex(kind->findData(QString("regression_local")));
    QCOMPARE(loss->findData(int(rl::LossType::CrossEntropy)), -1);
    QCOMPARE(loss->currentData().toInt(), int(rl::LossType::Mse));
    QCOMPARE(p.undo.count(), 1);
    QCOMPARE(p.undo.text(0), QString("Set dataset to Local regression, loss to MSE"));
    QCOMPARE(p.editor.spec().data.kind, std::string("regression_local"));
    QCOMPARE(p.editor.spec().model.loss, rl::LossType::Mse);
    QVERIFY(trainsOneStep(p.editor.spec()));
    p.undo.undo();
    QVERIFY(loss->findData(int(rl::LossType::CrossEntropy)) >= 0);
    QCOMPARE(loss->currentData().toInt(), int(rl::LossType::CrossEntropy));
  }

  void layerSelectorChoosesTheMoeLayerToEdit() {
    rl::Spec spec = rl::loadPreset("spiral-moe");
    rl::LayerSpec second = spec.model.layers[0];
    second.experts = 4;
    second.router.type = rl::RouterType::Switch;
    second.router.k = 1;
    spec.model.layers.push_back(second);
    Panel p(spec);
    auto* layer = p.field<QComboBox>("moeLayer");
    QVERIFY(layer->isVisibleTo(&p.editor));
    QCOMPARE(layer->count(), 2);
    QCOMPARE(p.editor.selectedLayer(), 0);
    layer->setCurrentIndex(1);
    QCOMPARE(p.editor.selectedLayer(), 1);
    QCOMPARE(p.field<QSpinBox>("experts")->value(), 4);
    QCOMPARE(p.field<QComboBox>("routerType")->currentText(), QString("Switch top-1"));
    p.field<QSpinBox>("experts")->stepUp();
    QCOMPARE(p.undo.text(0), QString("Set layer 2 experts to 5"));
    QCOMPARE(p.appliedLayer(0).experts, 8);
    QCOMPARE(p.appliedLayer(1).experts, 5);
    typeInto(p.field<QSpinBox>("experts"), "1");  // Switch routing: one expert is enough
    QCOMPARE(p.undo.count(), 1);  // the same field within a second: one command
    QCOMPARE(p.undo.text(0), QString("Set layer 2 experts to 1"));
    QCOMPARE(p.appliedLayer(1).experts, 1);
    QVERIFY(trainsOneStep(p.editor.spec()));
    layer->setCurrentIndex(0);
    QCOMPARE(p.field<QSpinBox>("experts")->value(), 8);
    typeInto(p.field<QSpinBox>("experts"), "1");  // k 2 > 1 expert in layer 1
    QVERIFY2(p.editor.problemText().contains("k: 2 exceeds experts (1)"), qPrintable(p.editor.problemText()));
    QCOMPARE(p.undo.count(), 1);
    // A problem of the layer that is not on show names its layer.
    p.editor.setSpec(spec);
    QCOMPARE(p.editor.selectedLayer(), 0);
    selectData(p.field<QComboBox>("loss"), int(rl::LossType::Cooperative));
    QVERIFY2(p.editor.problemText().contains("layer 2 expert width 2: the last width 32 must equal"),
             qPrintable(p.editor.problemText()));
  }

  void csvFileBecomesTheDataset() {
    QTemporaryDir dir;
    const QString path = dir.filePath("points.csv");
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("x0,x1,label\n0.1,0.2,0\n-0.3,0.5,1\n0.7,-0.1,2\n0.2,0.2,0\n-0.5,-0.5,1\n0.9,0.9,2\n");
    file.close();
    Panel p;
    auto* kind = p.field<QComboBox>("dataKind");
    QCOMPARE(kind->findData(QString("csv")), -1);  // no file chosen: no csv kind
    p.editor.findChild<rl::ui::DataSection*>()->useCsvFile(path);
    QCOMPARE(kind->currentData().toString(), QString("csv"));
    QCOMPARE(p.field<QComboBox>("labelColumn")->currentText(), QString("label"));
    QVERIFY(!p.field<QDoubleSpinBox>("noise")->isEnabled());
    QCOMPARE(p.undo.count(), 1);
    const rl::Spec s = p.editor.spec();
    QCOMPARE(s.data.kind, std::string("csv"));
    QCOMPARE(QString::fromStdString(s.data.csvPath), path);
    QCOMPARE(s.data.labelColumn, std::string("label"));
    QVERIFY(trainsOneStep(s));
    // Three classes now: without a head the experts must produce three outputs.
    selectData(p.field<QComboBox>("loss"), int(rl::LossType::Cooperative));
    QVERIFY2(p.editor.problemText().contains("output size (3)"), qPrintable(p.editor.problemText()));

    // A file that cannot be read is named, and nothing applies.
    Panel q;
    q.editor.findChild<rl::ui::DataSection*>()->useCsvFile(dir.filePath("missing.csv"));
    QVERIFY2(q.editor.problemText().contains("missing.csv"), qPrintable(q.editor.problemText()));
    QCOMPARE(q.undo.count(), 0);
    QCOMPARE(q.editor.spec().data.kind, std::string("spiral4"));
  }

  void fitsADockAndLooksTidy() {
    Panel p;
    typeInto(p.field<QSpinBox>("k"), "9");  // show a problem in the picture
    QApplication::processEvents();
    auto* scroll = p.field<QScrollArea>("specEditorScroll");
    QVERIFY2(scroll->widget()->minimumSizeHint().width() <= 320,
             qPrintable(QString::number(scroll->widget()->minimumSizeHint().width())));
    // SPEC_EDITOR_SCREENSHOTS=dir saves the panel in two states for a person to look at.
    const QString dir = qEnvironmentVariable("SPEC_EDITOR_SCREENSHOTS");
    if (dir.isEmpty()) return;
    auto save = [&](Panel& panel, const QString& name) {
      auto* area = panel.field<QScrollArea>("specEditorScroll");
      panel.editor.resize(320, area->widget()->sizeHint().height() + 4);
      QApplication::processEvents();
      QVERIFY(panel.editor.grab().save(QDir(dir).filePath(name)));
    };
    save(p, "spec_editor_invalid_k.png");
    rl::Spec twoLayers = rl::loadPreset("jacobs-competitive");
    twoLayers.model.layers.insert(twoLayers.model.layers.begin(), rl::loadPreset("spiral-moe").model.layers[0]);
    Panel q(twoLayers);
    q.field<QComboBox>("moeLayer")->setCurrentIndex(1);
    selectData(q.field<QComboBox>("optimizer"), int(rl::OptimizerType::Sgd));
    typeInto(q.field<QLineEdit>("expertWidths"), "16, 3");
    save(q, "spec_editor_two_layers.png");
  }
};

QTEST_MAIN(TestSpecEditor)
#include "test_spec_editor.moc"
