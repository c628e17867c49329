#pragma once
// The training controls: Play/Pause (Space), Step (S), Step ×N, Reset (R) and the speed slider.
// One set of QActions shared by the toolbar and the Run menu; the window wires them to the
// controller.
#include <QObject>
#include <QString>
#include <vector>

class QAction;
class QLabel;
class QSlider;
class QSpinBox;
class QToolBar;

namespace rl::ui {

class RunControls : public QObject {
  Q_OBJECT
 public:
  explicit RunControls(QObject* parent = nullptr);
  // Adds the controls to toolbar (which the window owns).
  void populate(QToolBar* toolbar);

  QAction* playPause() const { return playPause_; }
  QAction* step() const { return step_; }
  QAction* stepN() const { return stepN_; }
  QAction* reset() const { return reset_; }
  QSpinBox* stepCount() const { return stepCount_; }
  QSlider* speedSlider() const { return speed_; }

  // Reflects the run's state (the snapshot's "playing" flag) without emitting playRequested.
  void setPlaying(bool playing);
  bool playing() const { return playing_; }
  int speed() const;             // steps/s, 0 = unlimited
  void setSpeed(int stepsPerSecond);  // nearest slider position

  // Slider positions and their steps/s (the last one, 0, means as fast as possible).
  static const std::vector<int>& speedSteps();
  static QString speedText(int stepsPerSecond);

 signals:
  void playRequested();
  void pauseRequested();
  void stepRequested();
  void stepNRequested(int n);
  void resetRequested();
  void speedChanged(int stepsPerSecond);

 private:
  QAction* playPause_;
  QAction* step_;
  QAction* stepN_;
  QAction* reset_;
  QSpinBox* stepCount_ = nullptr;
  QSlider* speed_ = nullptr;
  QLabel* speedLabel_ = nullptr;
  bool playing_ = false;
  int pendingSpeed_ = 100;
};

}  // namespace rl::ui
