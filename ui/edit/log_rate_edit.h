#pragma once
// A positive rate on a log scale: a slider (100 positions per decade) beside a spin box that
// shows 3 significant digits, accepts typed values such as 3e-4, and steps through 1-1.5-2-3-5-7
// per decade with its arrows.
#include <QDoubleSpinBox>
#include <QWidget>

class QSlider;

namespace rl::ui {

class LogSpinBox : public QDoubleSpinBox {
  Q_OBJECT
 public:
  explicit LogSpinBox(QWidget* parent = nullptr);
  QString textFromValue(double value) const override;
  double valueFromText(const QString& text) const override;
  QValidator::State validate(QString& text, int& pos) const override;
  void stepBy(int steps) override;
};

class LogRateEdit : public QWidget {
  Q_OBJECT
 public:
  // The range [min, max] must be positive; both ends should be powers of ten.
  LogRateEdit(const char* objectName, double min, double max, QWidget* parent = nullptr);

  double value() const;
  void setValueQuietly(double value);  // no signal
  QSlider* slider() const { return slider_; }
  LogSpinBox* spinBox() const { return spin_; }

 signals:
  // dragging: the slider is held down (the edit continues until it is released).
  void valueEdited(double value, bool dragging);
  void dragStarted();
  void dragFinished();

 private:
  int sliderPosition(double value) const;
  double sliderValue(int position) const;

  double minExp_, maxExp_;
  QSlider* slider_;
  LogSpinBox* spin_;
};

}  // namespace rl::ui
