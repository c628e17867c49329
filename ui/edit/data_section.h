#pragma once
// The "Data" section: dataset kind (a CSV file through "CSV…"), noise, sample count, data seed.
#include <QString>

#include "edit/spec_section.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QSpinBox;
class QToolButton;

namespace rl::ui {

class DataSection : public SpecSection {
  Q_OBJECT
 public:
  explicit DataSection(QWidget* parent = nullptr);

  void showSpec(const Spec& spec, int layer) override;
  void writeTo(Spec& spec, int layer, std::vector<std::string>& problems) const override;
  QWidget* fieldForKey(const std::string& key) const override;

  // Switches to kind csv reading path (what the "CSV…" button does after its file dialog). The
  // label column defaults to one named label/class/target/y, else the last column.
  void useCsvFile(const QString& path);

 private:
  void chooseCsvFile();
  void setCsvPath(const std::string& path);  // offers the csv kind and the file's columns
  void updateEnabled();
  // Lists the kinds a model of this kind reads: token streams for a Transformer, else the rest.
  void offerKindsFor(ModelKind model);
  bool tokenKind() const;

  QComboBox* kind_;
  QToolButton* csvButton_;
  QComboBox* labelColumn_;
  QCheckBox* regression_;
  QDoubleSpinBox* noise_;
  QSpinBox* samples_;
  QSpinBox* seed_;
  QSpinBox* groups_;  // token streams: tasks (multi_task) or languages (multi_language)
  ModelKind offeredFor_ = ModelKind::Mlp;
  std::string csvPath_;
};

}  // namespace rl::ui
