#include "edit/form_widgets.h"

#include <QCoreApplication>
#include <QEvent>
#include <QPalette>
#include <QSignalBlocker>

namespace rl::ui {

namespace {

class WheelGuard : public QObject {
 public:
  using QObject::QObject;
  bool eventFilter(QObject* watched, QEvent* event) override {
    auto* field = qobject_cast<QWidget*>(watched);
    if (event->type() != QEvent::Wheel || !field || field->hasFocus() || !field->parentWidget()) return false;
    // Delivered to the parent, the event propagates up to the scroll area, which scrolls.
    QCoreApplication::sendEvent(field->parentWidget(), event);
    return true;
  }
};

}  // namespace

void scrollPanelOnWheel(QWidget* field) {
  field->setFocusPolicy(Qt::StrongFocus);  // not WheelFocus: passing over must not focus it
  field->installEventFilter(new WheelGuard(field));
}

QSpinBox* makeSpin(const char* objectName, int min, int max, int step) {
  auto* box = new QSpinBox;
  box->setObjectName(objectName);
  box->setRange(min, max);
  box->setSingleStep(step);
  box->setKeyboardTracking(false);
  box->setAccelerated(true);
  scrollPanelOnWheel(box);
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
  scrollPanelOnWheel(box);
  return box;
}

QComboBox* makeCombo(const char* objectName) {
  auto* box = new QComboBox;
  box->setObjectName(objectName);
  box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  box->setMinimumContentsLength(8);
  scrollPanelOnWheel(box);
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
