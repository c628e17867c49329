#pragma once
// A banner across the top of the window for errors and divergence: visible until dismissed, never
// modal, so training, tests and the screenshot mode are never blocked by a dialog.
#include <QFrame>
#include <QString>

class QLabel;

namespace rl::ui {

class MessageBanner : public QFrame {
  Q_OBJECT
 public:
  enum class Kind { Error, Warning };
  explicit MessageBanner(QWidget* parent = nullptr);
  void showMessage(Kind kind, const QString& title, const QString& detail);
  QString text() const;  // "title: detail" of the message shown, empty when dismissed

 signals:
  void dismissed();

 private:
  QLabel* label_;
  QString text_;
};

}  // namespace rl::ui
