#pragma once
// SpecSection: one titled part of the spec editor (data, experts, router, training). A section
// shows a spec in its widgets, writes its widgets back into a candidate spec, and lists the
// problems that belong to it in red under its fields. It never decides whether an edit applies:
// it only reports that a field was edited (SpecEditor validates and pushes the undo command).
#include <QGroupBox>
#include <string>
#include <vector>

#include "edit/spec_field.h"
#include "edit/spec_problems.h"
#include "spec/spec.h"

class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QSpinBox;

namespace rl::ui {

class SpecSection : public QGroupBox {
  Q_OBJECT
 public:
  explicit SpecSection(const QString& title, QWidget* parent = nullptr);

  // Shows the spec's values. layer: the model.layers index the layer fields edit (-1: none).
  virtual void showSpec(const Spec& spec, int layer) = 0;
  // Writes the widgets' values into spec. Text that does not parse adds "<json path>: <reason>".
  virtual void writeTo(Spec& spec, int layer, std::vector<std::string>& problems) const = 0;
  // The field that edits a JSON key of this section, or nullptr.
  virtual QWidget* fieldForKey(const std::string& key) const = 0;

  // Lists the problems in red under the fields and marks the offending fields of `layer`.
  void showProblems(const std::vector<SpecProblem>& problems, int layer);
  QString problemText() const;  // what the red message says ("" when none)
  QWidget* problemLabel() const;  // where the red message is drawn

  // The widest label, and a common minimum so the fields of every section line up.
  int labelWidth() const;
  void setLabelWidth(int width);

 signals:
  void edited(rl::ui::SpecField field, rl::ui::EditPhase phase);
  // A slider was pressed or released: the next edit starts a new undo command.
  void gestureBoundary();

 protected:
  // Adds "label  field" with the same one-sentence tooltip on both.
  void addRow(const QString& label, QWidget* field, const QString& tip);
  void setRowVisible(QWidget* field, bool visible);
  QFormLayout* form() const { return form_; }

  // Emit edited(field, Commit) when the widget's value changes by the user.
  void commitOnChange(QSpinBox* box, SpecField field);
  void commitOnChange(QDoubleSpinBox* box, SpecField field);
  void commitOnChange(QComboBox* box, SpecField field);

 private:
  QFormLayout* form_;
  QLabel* problems_;
  std::vector<QWidget*> marked_;
};

}  // namespace rl::ui
