#include "window/preset_dialog.h"

#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QVBoxLayout>

#include "spec/presets.h"

namespace rl::ui {

PresetDialog::PresetDialog(const QString& current, QWidget* parent) : QDialog(parent) {
  setWindowTitle("New from preset");
  resize(720, 360);
  auto* layout = new QVBoxLayout(this);
  auto* row = new QHBoxLayout;
  list_ = new QListWidget(this);
  list_->setMaximumWidth(240);
  description_ = new QLabel(this);
  description_->setWordWrap(true);
  description_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  description_->setMinimumWidth(380);
  row->addWidget(list_);
  row->addWidget(description_, 1);
  layout->addLayout(row, 1);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  layout->addWidget(buttons);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(list_, &QListWidget::itemDoubleClicked, this, &QDialog::accept);

  for (const std::string& name : rl::presetNames()) {
    auto* item = new QListWidgetItem(QString::fromStdString(name), list_);
    // Presets are embedded at build time, so loading one here cannot fail in a working build.
    item->setData(Qt::UserRole, QString::fromStdString(rl::loadPreset(name).description));
    if (item->text() == current) list_->setCurrentItem(item);
  }
  connect(list_, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* item) {
    description_->setText(item ? item->data(Qt::UserRole).toString() : QString());
  });
  if (!list_->currentItem() && list_->count() > 0) list_->setCurrentRow(0);
  if (list_->currentItem()) description_->setText(list_->currentItem()->data(Qt::UserRole).toString());
}

QString PresetDialog::selectedPreset() const {
  return list_->currentItem() ? list_->currentItem()->text() : QString();
}

}  // namespace rl::ui
