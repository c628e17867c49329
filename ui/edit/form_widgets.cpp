#include "edit/form_widgets.h"

#include <QPalette>
#include <QSignalBlocker>

namespace rl::ui {

QSpinBox* makeSpin(const char* objectName, int min, int max, int step) {
  auto* box = new QSpinBox;
  box->setObjectName(objectName);
  box->setRange(min, max);
  box->setSingleStep(step);
  box->setKeyboardTracking(false);
  box->setAccelerated(true);
  return box;
}

QDoubleSpinBox* makeDoubleSpin(const char* objectName, double min, double max, double step, int decimals) {
  auto* box = new QDoubleSpinBox;
  box->setObjectName(objectName);
  box->setDecimals(decimals);
  box->setRange(min, max);
  box->setSingleStep(step);
  box->setKeyboardTracking(false);
  box->setAccelerated(true);
  return box;
}

QComboBox* makeCombo(const char* objectName) {
  auto* box = new QComboBox;
  box->setObjectName(objectName);
  box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  box->setMinimumContentsLength(8);
  return box;
}

void setQuietly(QSpinBox* box, int value) {
  const QSignalBlocker block(box);
  box->setValue(value);
}

void setQuietly(QDoubleSpinBox* box, double value) {
  const QSignalBlocker block(box);
  box->setValue(value);
}

bool selectQuietly(QComboBox* box, int value) {
  const int index = box->findData(value);
  if (index < 0) return false;
  const QSignalBlocker block(box);
  box->setCurrentIndex(index);
  return true;
}

void markInvalid(QWidget* field, bool invalid) {
  if (!invalid) {
    field->setPalette(QPalette());  // back to the inherited palette
    return;
  }
  QPalette palette = field->palette();
  palette.setColor(QPalette::Base, QColor(0xfd, 0xe2, 0xe2));
  palette.setColor(QPalette::Button, QColor(0xfd, 0xe2, 0xe2));
  field->setPalette(palette);
}

}  // namespace rl::ui
