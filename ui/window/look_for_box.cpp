#include "window/look_for_box.h"

#include <QLabel>
#include <QVBoxLayout>

namespace rl::ui {

LookForBox::LookForBox(QWidget* parent) : QGroupBox("What to look for", parent) {
  setObjectName("lookForBox");
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 4, 8, 6);
  text_ = new QLabel(this);
  text_->setWordWrap(true);
  text_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  text_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  layout->addWidget(text_);
  setSpecText({}, {});
}

void LookForBox::setSpecText(const QString& name, const QString& description) {
  if (name == name_ && description == description_ && !text_->text().isEmpty()) return;
  name_ = name;
  description_ = description;
  setTitle(name.isEmpty() ? QString("What to look for") : QString("What to look for — %1").arg(name));
  text_->setText(description.isEmpty() ? QString("This spec has no description.") : description);
}

QString LookForBox::description() const { return description_; }

}  // namespace rl::ui
