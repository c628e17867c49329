#pragma once
// File → New from preset…: pick a built-in preset while reading what each one shows.
#include <QDialog>
#include <QString>

class QListWidget;
class QLabel;

namespace rl::ui {

class PresetDialog : public QDialog {
  Q_OBJECT
 public:
  explicit PresetDialog(const QString& current, QWidget* parent = nullptr);
  QString selectedPreset() const;

 private:
  QListWidget* list_;
  QLabel* description_;
};

}  // namespace rl::ui
