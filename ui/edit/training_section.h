#pragma once
// The "Training" section: optimizer, learning rate (log slider + spin box), momentum, batch size
// and seed.
#include "edit/spec_section.h"

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace rl::ui {

class LogRateEdit;

class TrainingSection : public SpecSection {
  Q_OBJECT
 public:
  explicit TrainingSection(QWidget* parent = nullptr);

  void showSpec(const Spec& spec, int layer) override;
  void writeTo(Spec& spec, int layer, std::vector<std::string>& problems) const override;
  QWidget* fieldForKey(const std::string& key) const override;

  LogRateEdit* learningRate() const { return rate_; }

 private:
  void updateEnabled();

  QComboBox* optimizer_;
  LogRateEdit* rate_;
  QDoubleSpinBox* momentum_;
  QSpinBox* batch_;
  QSpinBox* seed_;
};

}  // namespace rl::ui
