#include "window/run_controls.h"

#include <QAction>
#include <QApplication>
#include <QLabel>
#include <QSlider>
#include <QSpinBox>
#include <QStyle>
#include <QToolBar>
#include <cmath>
#include <vector>

namespace rl::ui {

const std::vector<int>& RunControls::speedSteps() {
  // Roughly logarithmic, so both "watch every step" and "train fast" are one drag away.
  static const std::vector<int> steps = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 0};
  return steps;
}

QString RunControls::speedText(int stepsPerSecond) {
  return stepsPerSecond <= 0 ? QString("unlimited") : QString("%1 steps/s").arg(stepsPerSecond);
}

RunControls::RunControls(QObject* parent) : QObject(parent) {
  QStyle* style = QApplication::style();
  playPause_ = new QAction(style->standardIcon(QStyle::SP_MediaPlay), "Play", this);
  playPause_->setObjectName("actionPlayPause");
  playPause_->setShortcut(Qt::Key_Space);
  playPause_->setToolTip("Play / pause training (Space)");
  step_ = new QAction(style->standardIcon(QStyle::SP_MediaSkipForward), "Step", this);
  step_->setObjectName("actionStep");
  step_->setShortcut(Qt::Key_S);
  step_->setToolTip("Train exactly one step (S)");
  stepN_ = new QAction(style->standardIcon(QStyle::SP_MediaSeekForward), "Step ×N", this);
  stepN_->setObjectName("actionStepN");
  stepN_->setToolTip("Train the number of steps in the box");
  reset_ = new QAction(style->standardIcon(QStyle::SP_BrowserReload), "Reset", this);
  reset_->setObjectName("actionReset");
  reset_->setShortcut(Qt::Key_R);
  reset_->setToolTip("Restart the run from fresh weights (R); the history is cleared");
  for (QAction* a : {playPause_, step_, stepN_, reset_}) a->setShortcutContext(Qt::WindowShortcut);

  connect(playPause_, &QAction::triggered, this, [this] {
    // Flip at once so the button answers the key press; the next snapshot confirms the state.
    const bool wasPlaying = playing_;
    setPlaying(!wasPlaying);
    if (wasPlaying) {
      emit pauseRequested();
    } else {
      emit playRequested();
    }
  });
  connect(step_, &QAction::triggered, this, [this] { emit stepRequested(); });
  connect(stepN_, &QAction::triggered, this, [this] { emit stepNRequested(stepCount_ ? stepCount_->value() : 10); });
  connect(reset_, &QAction::triggered, this, [this] { emit resetRequested(); });
}

void RunControls::populate(QToolBar* toolbar) {
  toolbar->addAction(playPause_);
  toolbar->addAction(step_);
  toolbar->addSeparator();
  stepCount_ = new QSpinBox(toolbar);
  stepCount_->setObjectName("stepCount");
  stepCount_->setRange(1, 1'000'000);
  stepCount_->setValue(100);
  stepCount_->setToolTip("Steps for Step ×N");
  stepCount_->setAccelerated(true);
  toolbar->addWidget(stepCount_);
  toolbar->addAction(stepN_);
  toolbar->addSeparator();
  toolbar->addAction(reset_);
  toolbar->addSeparator();

  auto* caption = new QLabel(" Speed ", toolbar);
  toolbar->addWidget(caption);
  speed_ = new QSlider(Qt::Horizontal, toolbar);
  speed_->setObjectName("speedSlider");
  speed_->setRange(0, int(speedSteps().size()) - 1);
  speed_->setPageStep(1);
  speed_->setTickPosition(QSlider::TicksBelow);
  speed_->setFixedWidth(160);
  speed_->setToolTip("Training speed limit (steps per second); far right = as fast as possible");
  toolbar->addWidget(speed_);
  speedLabel_ = new QLabel(toolbar);
  speedLabel_->setMinimumWidth(90);
  toolbar->addWidget(speedLabel_);
  connect(speed_, &QSlider::valueChanged, this, [this](int position) {
    const int sps = speedSteps()[size_t(position)];
    speedLabel_->setText(" " + speedText(sps));
    emit speedChanged(sps);
  });
  setSpeed(pendingSpeed_);
  speedLabel_->setText(" " + speedText(speed()));
}

void RunControls::setPlaying(bool playing) {
  playing_ = playing;
  QStyle* style = QApplication::style();
  playPause_->setText(playing ? "Pause" : "Play");
  playPause_->setIcon(style->standardIcon(playing ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
  // Single steps while the worker plays would interleave with the play loop: offer them paused.
  step_->setEnabled(!playing);
  stepN_->setEnabled(!playing);
}

int RunControls::speed() const {
  return speed_ ? speedSteps()[size_t(speed_->value())] : pendingSpeed_;
}

void RunControls::setSpeed(int stepsPerSecond) {
  pendingSpeed_ = stepsPerSecond;
  if (!speed_) return;
  const auto& steps = speedSteps();
  int best = int(steps.size()) - 1;  // unlimited
  if (stepsPerSecond > 0) {
    // The slider position whose speed is nearest on a log scale.
    double bestDistance = 1e300;
    for (size_t i = 0; i + 1 < steps.size(); ++i) {
      const double distance = std::abs(std::log(double(steps[i]) / stepsPerSecond));
      if (distance < bestDistance) {
        bestDistance = distance;
        best = int(i);
      }
    }
  }
  speed_->setValue(best);
}

}  // namespace rl::ui
