#include "edit/spec_editor.h"

#include <QLabel>
#include <QPointer>
#include <QScrollArea>
#include <QUndoStack>
#include <QVBoxLayout>
#include <algorithm>

#include "edit/data_section.h"
#include "edit/model_section.h"
#include "edit/router_section.h"
#include "edit/spec_change_text.h"
#include "edit/spec_edit_command.h"
#include "edit/spec_problems.h"
#include "edit/training_section.h"
#include "edit/transformer_section.h"

namespace rl::ui {

namespace {

int firstMoeLayer(const Spec& spec) {
  for (size_t i = 0; i < spec.model.layers.size(); ++i)
    if (spec.model.layers[i].type == LayerType::Moe) return static_cast<int>(i);
  return -1;
}

bool isMoeLayer(const Spec& spec, int layer) {
  return layer >= 0 && layer < int(spec.model.layers.size()) && spec.model.layers[layer].type == LayerType::Moe;
}

SpecSectionId sectionIdOf(int index) {
  static const SpecSectionId ids[] = {SpecSectionId::Data, SpecSectionId::Model, SpecSectionId::Router,
                                      SpecSectionId::Transformer, SpecSectionId::Training};
  return ids[index];
}

}  // namespace

SpecEditor::SpecEditor(QUndoStack* undo, QWidget* parent) : QWidget(parent), undo_(undo) {
  data_ = new DataSection;
  model_ = new ModelSection;
  router_ = new RouterSection;
  training_ = new TrainingSection;
  transformer_ = new TransformerSection;

  // The panel lives in a narrow dock: scroll vertically rather than squeeze the fields.
  auto* content = new QWidget;
  auto* column = new QVBoxLayout(content);
  column->setContentsMargins(4, 4, 4, 4);
  column->setSpacing(6);
  int labelWidth = 0;
  for (SpecSection* section : sections()) {
    column->addWidget(section);
    labelWidth = std::max(labelWidth, section->labelWidth());
  }
  for (SpecSection* section : sections()) section->setLabelWidth(labelWidth);
  column->addStretch(1);
  auto* scroll = new QScrollArea;
  scroll->setObjectName("specEditorScroll");
  scroll->setWidget(content);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  outer->addWidget(scroll);

  for (SpecSection* section : sections()) {
    connect(section, &SpecSection::edited, this, &SpecEditor::onEdited);
    connect(section, &SpecSection::gestureBoundary, this, [this] { chainOpen_ = false; });
  }
  connect(model_, &ModelSection::layerSelected, this, &SpecEditor::selectLayer);
  connect(transformer_, &TransformerSection::layerSelected, this, [this] { reshow(); });

  Spec initial;
  setSpec(initial);
}

std::vector<SpecSection*> SpecEditor::sections() const { return {data_, model_, router_, transformer_, training_}; }

void SpecEditor::setSpec(const Spec& spec) {
  spec_ = spec;
  if (!isMoeLayer(spec_, layer_)) layer_ = firstMoeLayer(spec_);
  reshow();
}

void SpecEditor::selectLayer(int layer) {
  if (!isMoeLayer(spec_, layer)) return;
  layer_ = layer;
  // Pending invalid values belong to the layer that was on show: drop them with it.
  reshow();
}

int SpecEditor::selectedTransformerLayer() const { return transformer_->currentLayer(); }
void SpecEditor::selectTransformerLayer(int layer) { transformer_->selectLayer(layer); }

void SpecEditor::reshow() {
  chainOpen_ = false;
  showSpecInFields();
  showProblems({});
}

void SpecEditor::showSectionsFor(const Spec& spec) {
  const bool transformer = spec.model.kind == ModelKind::Transformer;
  model_->setVisible(!transformer);
  router_->setVisible(!transformer);
  transformer_->setVisible(transformer);
}

void SpecEditor::showSpecInFields() {
  showSectionsFor(spec_);
  for (SpecSection* section : sections()) section->showSpec(spec_, layer_);
}

void SpecEditor::onEdited(SpecField field, EditPhase phase) {
  // Each section writes its fields over the applied spec, so what the widgets show is the candidate.
  Spec candidate = spec_;
  std::vector<std::string> problems;
  data_->writeTo(candidate, layer_, problems);
  // The data decides which losses exist (a regression target has no cross-entropy).
  if (field == SpecField::DataKind || field == SpecField::CsvFile || field == SpecField::CsvRegression)
    model_->offerLossesFor(candidate.data);
  model_->writeTo(candidate, layer_, problems);
  router_->writeTo(candidate, layer_, problems);
  transformer_->writeTo(candidate, layer_, problems);
  training_->writeTo(candidate, layer_, problems);
  if (problems.empty()) problems = findSpecProblems(candidate);
  showProblems(problems);
  if (!problems.empty() || phase == EditPhase::Preview || sameSpec(candidate, spec_)) return;
  push(field, phase, candidate);
}

void SpecEditor::push(SpecField field, EditPhase phase, const Spec& candidate) {
  const bool continues = phase != EditPhase::Standalone && chainOpen_ && chainField_ == field &&
                         (phase == EditPhase::Drag || sinceLastEdit_.elapsed() < kMergePauseMs);
  if (!continues) ++chain_;
  chainField_ = field;
  chainOpen_ = true;
  sinceLastEdit_.restart();
  pushing_ = true;
  // The stack may outlive the panel: a command must not call into a deleted editor.
  const QPointer<SpecEditor> editor(this);
  undo_->push(new SpecEditCommand(spec_, candidate, field, chain_, [editor](const Spec& s) {
    if (editor) editor->install(s);
  }));
  pushing_ = false;
}

void SpecEditor::install(const Spec& spec) {
  spec_ = spec;
  if (!pushing_) {
    chainOpen_ = false;  // an undo or redo ends the gesture
    if (!isMoeLayer(spec_, layer_)) layer_ = firstMoeLayer(spec_);
    showSpecInFields();
    showProblems({});
  } else if (spec_.model.kind == ModelKind::Transformer) {
    transformer_->showSpec(spec_, layer_);  // a changed layer count relists the layers
  }
  emit specEdited(spec_);
}

void SpecEditor::showProblems(const std::vector<std::string>& problems) {
  std::vector<SpecProblem> located = locateProblems(problems, layer_, transformer_->currentLayer());
  if (spec_.model.kind == ModelKind::Transformer)
    for (SpecProblem& p : located)  // model.* problems go where the model's fields are on show
      if (p.section == SpecSectionId::Model || p.section == SpecSectionId::Router || p.key == "vocabulary" ||
          p.key == "sequence_length")  // data.vocabulary and data.sequence_length are edited there too
        p.section = SpecSectionId::Transformer;
  const auto list = sections();
  for (size_t i = 0; i < list.size(); ++i) {
    std::vector<SpecProblem> mine;
    for (const SpecProblem& p : located)
      if (p.section == sectionIdOf(int(i)) || (p.section == SpecSectionId::Other && i + 1 == list.size()))
        mine.push_back(p);
    list[i]->showProblems(mine, list[i] == transformer_ ? transformer_->currentLayer() : layer_);
  }
  // A long section (the Transformer's) puts its message below the field just edited: scroll it
  // into view, or the edit seems ignored.
  // After the layout has placed the (possibly taller) message.
  if (problems.empty()) return;
  QMetaObject::invokeMethod(
      this,
      [this] {
        auto* scroll = findChild<QScrollArea*>("specEditorScroll");
        for (SpecSection* section : sections())
          if (scroll && !section->problemText().isEmpty() && section->isVisible()) {
            scroll->ensureWidgetVisible(section->problemLabel(), 0, 8);
            break;
          }
      },
      Qt::QueuedConnection);
}

QString SpecEditor::problemText() const {
  QStringList lines;
  for (SpecSection* section : sections())
    if (!section->problemText().isEmpty()) lines << section->problemText();
  return lines.join("\n");
}

}  // namespace rl::ui
