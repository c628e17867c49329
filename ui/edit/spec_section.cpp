#include "edit/spec_section.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>

#include "edit/form_widgets.h"

namespace rl::ui {

SpecSection::SpecSection(const QString& title, QWidget* parent) : QGroupBox(title, parent) {
  auto* column = new QVBoxLayout(this);
  column->setContentsMargins(6, 4, 6, 6);
  column->setSpacing(2);
  form_ = new QFormLayout;
  form_->setContentsMargins(0, 0, 0, 0);
  form_->setHorizontalSpacing(8);
  form_->setVerticalSpacing(3);
  form_->setLabelAlignment(Qt::AlignLeft | Qt::AlignVCenter);
  form_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  form_->setRowWrapPolicy(QFormLayout::DontWrapRows);
  column->addLayout(form_);
  problems_ = new QLabel;
  problems_->setObjectName("problems");
  problems_->setWordWrap(true);
  problems_->setTextFormat(Qt::PlainText);
  problems_->setStyleSheet("color: #c62828;");
  problems_->setVisible(false);
  column->addWidget(problems_);
}

void SpecSection::addRow(const QString& label, QWidget* field, const QString& tip) {
  auto* name = new QLabel(label);
  name->setToolTip(tip);
  field->setToolTip(tip);
  form_->addRow(name, field);
}

void SpecSection::setRowVisible(QWidget* field, bool visible) { form_->setRowVisible(field, visible); }

void SpecSection::showProblems(const std::vector<SpecProblem>& problems, int layer) {
  for (QWidget* field : marked_) markInvalid(field, false);
  marked_.clear();
  QStringList lines;
  for (const SpecProblem& p : problems) {
    lines << p.text;
    if (p.layer != -1 && p.layer != layer) continue;  // another layer's field is not on show
    if (QWidget* field = fieldForKey(p.key)) {
      markInvalid(field, true);
      marked_.push_back(field);
    }
  }
  lines.removeDuplicates();
  problems_->setText(lines.join("\n"));
  problems_->setVisible(!lines.isEmpty());
}

QString SpecSection::problemText() const { return problems_->text(); }
QWidget* SpecSection::problemLabel() const { return problems_; }

int SpecSection::labelWidth() const {
  int width = 0;
  for (int row = 0; row < form_->rowCount(); ++row)
    if (auto* item = form_->itemAt(row, QFormLayout::LabelRole); item && item->widget())
      width = std::max(width, item->widget()->sizeHint().width());
  return width;
}

void SpecSection::setLabelWidth(int width) {
  for (int row = 0; row < form_->rowCount(); ++row)
    if (auto* item = form_->itemAt(row, QFormLayout::LabelRole); item && item->widget())
      item->widget()->setMinimumWidth(width);
}

void SpecSection::commitOnChange(QSpinBox* box, SpecField field) {
  connect(box, &QSpinBox::valueChanged, this, [this, field] { emit edited(field, EditPhase::Commit); });
}

void SpecSection::commitOnChange(QDoubleSpinBox* box, SpecField field) {
  connect(box, &QDoubleSpinBox::valueChanged, this, [this, field] { emit edited(field, EditPhase::Commit); });
}

void SpecSection::commitOnChange(QComboBox* box, SpecField field) {
  connect(box, &QComboBox::currentIndexChanged, this, [this, field] { emit edited(field, EditPhase::Standalone); });
}

}  // namespace rl::ui
