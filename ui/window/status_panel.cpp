#include "window/status_panel.h"

#include <QLabel>
#include <QStatusBar>

namespace rl::ui {

namespace {
QLabel* field(QStatusBar* bar, const QString& tip, int minimumWidth) {
  auto* label = new QLabel(bar);
  label->setToolTip(tip);
  label->setMinimumWidth(minimumWidth);
  label->setContentsMargins(6, 0, 6, 0);
  bar->addPermanentWidget(label);
  return label;
}
}  // namespace

StatusPanel::StatusPanel(QStatusBar* bar) : QObject(bar), bar_(bar) {
  // The message takes the stretch; the permanent fields sit on the right in reading order.
  message_ = new QLabel(bar);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  bar->addWidget(message_, 1);
  preset_ = field(bar, "Preset or project name of the current spec", 120);
  backend_ = field(bar, "Backend and device the session trains on", 160);
  step_ = field(bar, "Training steps taken in this run", 90);
  speed_ = field(bar, "Training steps per second (measured by the worker)", 110);
  preset_->setText("—");
  backend_->setText("backend: starting…");
  step_->setText("step 0");
  speed_->setText("0 steps/s");
}

void StatusPanel::showSnapshot(const RunSnapshot& s) {
  const QString device = QString::fromStdString(s.deviceName);
  QString backend = QString::fromStdString(s.backendName);
  if (!device.isEmpty() && device != backend) backend += QString(" · %1").arg(device);
  backend_->setText(backend.isEmpty() ? QString("backend: —") : backend);
  backend_->setToolTip(QString::fromStdString(s.backendReason));
  step_->setText(QString("step %1").arg(s.step));
  speed_->setText(s.playing ? QString("%1 steps/s").arg(s.stepsPerSecond, 0, 'f', 0)
                            : QString("paused"));
  preset_->setText(s.spec.name.empty() ? QString("(unnamed spec)") : QString::fromStdString(s.spec.name));
  // A new controller message replaces whatever the window said last; an unchanged one does not.
  if (s.message != lastSnapshotMessage_) {
    lastSnapshotMessage_ = s.message;
    if (!s.message.empty()) showMessage(QString::fromStdString(s.message));
  }
}

void StatusPanel::showMessage(const QString& message) {
  message_->setText(message);
  message_->setToolTip(message);
}

QString StatusPanel::backendText() const { return backend_->text(); }
QString StatusPanel::stepText() const { return step_->text(); }
QString StatusPanel::message() const { return message_->text(); }

}  // namespace rl::ui
