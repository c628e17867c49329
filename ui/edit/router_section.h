#pragma once
// The "Router" section of the selected MoE layer: router type, k, capacity factor, jitter,
// temperature and the aux-loss and z-loss coefficients.
#include "edit/spec_section.h"

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace rl::ui {

class RouterSection : public SpecSection {
  Q_OBJECT
 public:
  explicit RouterSection(QWidget* parent = nullptr);

  void showSpec(const Spec& spec, int layer) override;
  void writeTo(Spec& spec, int layer, std::vector<std::string>& problems) const override;
  QWidget* fieldForKey(const std::string& key) const override;

 private:
  RouterType type() const;
  void updateEnabled();

  QComboBox* type_;
  QSpinBox* k_;
  QDoubleSpinBox* capacity_;
  QDoubleSpinBox* jitter_;
  QDoubleSpinBox* temperature_;
  QDoubleSpinBox* aux_;
  QDoubleSpinBox* z_;
  bool haveLayer_ = false;
};

}  // namespace rl::ui
