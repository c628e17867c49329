#pragma once
// The "Model" section: which MoE layer is edited (when there are several), its number of
// experts, expert widths and activation, the output head and the loss.
#include "edit/spec_section.h"

class QCheckBox;
class QComboBox;
class QLineEdit;
class QSpinBox;

namespace rl::ui {

class ModelSection : public SpecSection {
  Q_OBJECT
 public:
  explicit ModelSection(QWidget* parent = nullptr);

  void showSpec(const Spec& spec, int layer) override;
  void writeTo(Spec& spec, int layer, std::vector<std::string>& problems) const override;
  QWidget* fieldForKey(const std::string& key) const override;

  // Offers only the losses that fit the data: no cross-entropy for a regression target (then
  // MSE takes its place). Emits nothing.
  void offerLossesFor(const DataSpec& data);

 signals:
  void layerSelected(int layer);  // a model.layers index

 private:
  void listMoeLayers(const Spec& spec, int layer);

  QComboBox* layer_;
  QSpinBox* experts_;
  QLineEdit* widths_;
  QComboBox* activation_;
  QComboBox* loss_;
  QCheckBox* head_;
};

// "32, 32" -> {32, 32}; false (with a reason) when a part is not a whole number.
bool parseWidths(const QString& text, std::vector<int>& widths, std::string& reason);
QString formatWidths(const std::vector<int>& widths);

}  // namespace rl::ui
