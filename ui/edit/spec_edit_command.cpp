#include "edit/spec_edit_command.h"

#include <utility>

#include "edit/spec_change_text.h"

namespace rl::ui {

SpecEditCommand::SpecEditCommand(Spec before, Spec after, SpecField field, int chain, Apply apply)
    : before_(std::move(before)), after_(std::move(after)), field_(field), chain_(chain), apply_(std::move(apply)) {
  setText(describeSpecChange(before_, after_));
}

void SpecEditCommand::undo() { apply_(before_); }
void SpecEditCommand::redo() { apply_(after_); }

int SpecEditCommand::id() const { return static_cast<int>(field_); }

bool SpecEditCommand::mergeWith(const QUndoCommand* other) {
  const auto* next = dynamic_cast<const SpecEditCommand*>(other);
  if (!next || next->field_ != field_ || next->chain_ != chain_) return false;
  after_ = next->after_;
  setText(describeSpecChange(before_, after_));
  // Dragged back to where it started: nothing left to undo, so the stack drops the command.
  setObsolete(sameSpec(before_, after_));
  return true;
}

}  // namespace rl::ui
