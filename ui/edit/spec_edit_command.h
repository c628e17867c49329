#pragma once
// One undoable edit of the spec: the whole spec before and after, so undo and redo are exact
// whatever the edit touched. Consecutive edits of the same field in one gesture (a slider drag,
// spin-box arrows) merge: the command keeps its first "before" and takes the latest "after".
#include <QUndoCommand>
#include <functional>

#include "edit/spec_field.h"
#include "spec/spec.h"

namespace rl::ui {

class SpecEditCommand : public QUndoCommand {
 public:
  // apply installs a spec (updates the editor's widgets and announces it); called by redo with
  // `after` and by undo with `before`. chain identifies the gesture: commands merge only when
  // they edit the same field within the same chain.
  using Apply = std::function<void(const Spec&)>;
  SpecEditCommand(Spec before, Spec after, SpecField field, int chain, Apply apply);

  void undo() override;
  void redo() override;
  int id() const override;
  bool mergeWith(const QUndoCommand* other) override;

  const Spec& before() const { return before_; }
  const Spec& after() const { return after_; }
  SpecField field() const { return field_; }

 private:
  Spec before_, after_;
  SpecField field_;
  int chain_;
  Apply apply_;
};

}  // namespace rl::ui
