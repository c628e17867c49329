#include "edit/log_rate_edit.h"

#include <QHBoxLayout>
#include <QRegularExpression>
#include <QSignalBlocker>
#include <QSlider>
#include <algorithm>
#include <cmath>

#include "edit/form_widgets.h"

namespace rl::ui {

namespace {

constexpr int kStepsPerDecade = 100;
constexpr double kLadder[] = {1, 1.5, 2, 3, 5, 7};  // arrow stops within a decade

double roundSignificant(double v, int digits) {
  if (!(v > 0)) return v;
  const double scale = std::pow(10.0, digits - 1 - std::floor(std::log10(v)));
  return std::round(v * scale) / scale;
}

// The next ladder value above (up) or below (!up) v.
double ladderNeighbour(double v, bool up) {
  const double decade = std::floor(std::log10(v));
  double best = up ? HUGE_VAL : 0;
  for (double d = decade - 1; d <= decade + 1; ++d)
    for (double m : kLadder) {
      const double c = roundSignificant(m * std::pow(10.0, d), 3);
      const double tolerance = v * 1e-9;
      if (up && c > v + tolerance) best = std::min(best, c);
      if (!up && c < v - tolerance) best = std::max(best, c);
    }
  return best;
}

}  // namespace

LogSpinBox::LogSpinBox(QWidget* parent) : QDoubleSpinBox(parent) {
  setDecimals(12);  // the value keeps its precision; textFromValue decides what is shown
  setKeyboardTracking(false);
}

QString LogSpinBox::textFromValue(double value) const { return QString::number(value, 'g', 3); }

double LogSpinBox::valueFromText(const QString& text) const { return text.trimmed().toDouble(); }

QValidator::State LogSpinBox::validate(QString& text, int&) const {
  static const QRegularExpression partial("^\\s*[0-9]*\\.?[0-9]*([eE][-+]?[0-9]*)?\\s*$");
  if (!partial.match(text).hasMatch()) return QValidator::Invalid;
  bool ok = false;
  const double v = text.trimmed().toDouble(&ok);
  return ok && v >= minimum() && v <= maximum() ? QValidator::Acceptable : QValidator::Intermediate;
}

void LogSpinBox::stepBy(int steps) {
  double v = value();
  for (int i = 0; i < std::abs(steps); ++i) v = ladderNeighbour(v, steps > 0);
  setValue(std::clamp(v, minimum(), maximum()));
}

LogRateEdit::LogRateEdit(const char* objectName, double min, double max, QWidget* parent)
    : QWidget(parent), minExp_(std::log10(min)), maxExp_(std::log10(max)) {
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setObjectName(QString(objectName) + "Slider");
  slider_->setRange(0, static_cast<int>(std::lround((maxExp_ - minExp_) * kStepsPerDecade)));
  slider_->setSingleStep(5);
  slider_->setPageStep(kStepsPerDecade);
  spin_ = new LogSpinBox;
  spin_->setObjectName(objectName);
  spin_->setRange(min, max);
  spin_->setMinimumWidth(spin_->fontMetrics().horizontalAdvance("0.00000") + 28);
  scrollPanelOnWheel(slider_);
  scrollPanelOnWheel(spin_);
  auto* row = new QHBoxLayout(this);
  row->setContentsMargins(0, 0, 0, 0);
  row->setSpacing(4);
  row->addWidget(slider_, 1);
  row->addWidget(spin_);

  connect(slider_, &QSlider::valueChanged, this, [this](int position) {
    const double v = sliderValue(position);
    {
      const QSignalBlocker block(spin_);
      spin_->setValue(v);
    }
    emit valueEdited(v, slider_->isSliderDown());
  });
  connect(spin_, &QDoubleSpinBox::valueChanged, this, [this](double v) {
    const QSignalBlocker block(slider_);
    slider_->setValue(sliderPosition(v));
    emit valueEdited(v, false);
  });
  connect(slider_, &QSlider::sliderPressed, this, &LogRateEdit::dragStarted);
  connect(slider_, &QSlider::sliderReleased, this, &LogRateEdit::dragFinished);
}

double LogRateEdit::value() const { return spin_->value(); }

void LogRateEdit::setValueQuietly(double value) {
  const QSignalBlocker blockSpin(spin_);
  const QSignalBlocker blockSlider(slider_);
  spin_->setValue(value);
  slider_->setValue(sliderPosition(value));
}

int LogRateEdit::sliderPosition(double value) const {
  return static_cast<int>(std::lround((std::log10(value) - minExp_) * kStepsPerDecade));
}

double LogRateEdit::sliderValue(int position) const {
  return roundSignificant(std::pow(10.0, minExp_ + double(position) / kStepsPerDecade), 3);
}

}  // namespace rl::ui
