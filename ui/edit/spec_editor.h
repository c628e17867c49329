#pragma once
// SpecEditor: the architecture-and-training panel. Every field edit builds a candidate spec from
// the widgets; when the engine's validation (plus the data-dependent checks of spec_problems.h)
// finds nothing wrong, the edit is pushed on the undo stack as a SpecEditCommand and specEdited
// is emitted. Invalid values stay visible with a red message under their section and are not
// applied. Undo and redo put the spec back into the widgets and emit specEdited again.
#include <QElapsedTimer>
#include <QWidget>

#include "edit/spec_field.h"
#include "run/training_controller.h"  // Q_DECLARE_METATYPE(rl::Spec), needed before this moc's signal
#include "spec/spec.h"

class QUndoStack;

namespace rl::ui {

class DataSection;
class ModelSection;
class RouterSection;
class SpecSection;
class TrainingSection;
class TransformerSection;

class SpecEditor : public QWidget {
  Q_OBJECT
 public:
  explicit SpecEditor(QUndoStack* undo, QWidget* parent = nullptr);

  // Replaces every field (reset, open, preset). Pushes nothing and emits nothing: the caller
  // starts the new run itself. Commands already on the stack still hold whole specs, so callers
  // that load an unrelated spec usually clear the stack too.
  void setSpec(const rl::Spec& spec);
  // The last applied (valid) spec; a pending invalid value in a field is not part of it.
  rl::Spec spec() const { return spec_; }

  // The red messages currently shown, one per line ("" when the candidate is valid).
  QString problemText() const;
  // The model.layers index the expert and router fields edit (-1 when there is no MoE layer).
  int selectedLayer() const { return layer_; }
  void selectLayer(int layer);
  // Transformer models: the model.transformer.layers index the layer fields edit.
  int selectedTransformerLayer() const;
  void selectTransformerLayer(int layer);

 signals:
  void specEdited(const rl::Spec& spec);

 private:
  void onEdited(SpecField field, EditPhase phase);
  void push(SpecField field, EditPhase phase, const Spec& candidate);
  void install(const Spec& spec);  // from a command's undo/redo
  void showSpecInFields();
  void showProblems(const std::vector<std::string>& problems);
  std::vector<SpecSection*> sections() const;
  void showSectionsFor(const Spec& spec);  // Model and Router for an MLP, Transformer for a Transformer
  void reshow();                           // the applied spec into every field, no problems

  QUndoStack* undo_;
  DataSection* data_;
  ModelSection* model_;
  RouterSection* router_;
  TrainingSection* training_;
  TransformerSection* transformer_;

  Spec spec_;
  int layer_ = -1;

  // Merge chain: edits of the same field merge while the chain lasts. It ends when another field
  // is edited, after a pause, on undo/redo/setSpec, and when a slider is pressed or released.
  static constexpr int kMergePauseMs = 1000;
  int chain_ = 0;
  SpecField chainField_{};
  bool chainOpen_ = false;
  bool pushing_ = false;
  QElapsedTimer sinceLastEdit_;
};

}  // namespace rl::ui
