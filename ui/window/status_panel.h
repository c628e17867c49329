#pragma once
// The status bar's permanent fields: backend and device, step, steps/s and preset, plus the
// last message (from the controller's snapshot or from the window itself).
#include <QObject>
#include <QString>

#include "run/run_snapshot.h"

class QLabel;
class QStatusBar;

namespace rl::ui {

class StatusPanel : public QObject {
  Q_OBJECT
 public:
  explicit StatusPanel(QStatusBar* bar);
  void showSnapshot(const RunSnapshot& snapshot);
  // A message of the window's own (saved, exported, …); stays until the next message.
  void showMessage(const QString& message);

  QString backendText() const;
  QString stepText() const;
  QString message() const;

 private:
  QStatusBar* bar_;
  QLabel* message_;
  QLabel* backend_;
  QLabel* step_;
  QLabel* speed_;
  QLabel* preset_;
  std::string lastSnapshotMessage_;
};

}  // namespace rl::ui
