#pragma once
// "What to look for": the current spec's name and its one-paragraph description, shown above the
// spec editor so a preset explains itself the moment it is chosen.
#include <QGroupBox>
#include <QString>

class QLabel;

namespace rl::ui {

class LookForBox : public QGroupBox {
  Q_OBJECT
 public:
  explicit LookForBox(QWidget* parent = nullptr);
  // Updates only when the name or description changed (cheap to call every frame).
  void setSpecText(const QString& name, const QString& description);
  QString description() const;

 private:
  QLabel* text_;
  QString name_, description_;
};

}  // namespace rl::ui
