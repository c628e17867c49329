#pragma once
// The two unattended modes of `routelab`: --screenshot (train N steps, wait until the views drew
// step N, save the whole window as a PNG) and --measure (play at full speed for a while, then
// report frame times and training throughput). Each reports once through finished().
#include <QElapsedTimer>
#include <QImage>
#include <QObject>
#include <QString>

class QWidget;

namespace rl::ui {

class MainWindow;

class ScreenshotRun : public QObject {
  Q_OBJECT
 public:
  ScreenshotRun(MainWindow& window, int steps, QString path, int timeoutMs = 300'000);
  void start();

 signals:
  // exitCode 0 on success; message says what was written or what went wrong.
  void finished(int exitCode, const QString& message);

 private:
  void onFrame(int step);
  void capture();
  void fail(const QString& message);

  MainWindow& window_;
  int steps_;
  QString path_;
  int timeoutMs_;
  bool done_ = false, capturing_ = false;
};

// Grabs the whole window as the screen shows it (QScreen::grabWindow: includes any native or
// Vulkan child content), falling back to QWidget::grab when the screen cannot be read.
QImage grabWholeWindow(QWidget& window);

class MeasureRun : public QObject {
  Q_OBJECT
 public:
  MeasureRun(MainWindow& window, double seconds);
  void start();

 signals:
  void finished(int exitCode, const QString& report);

 private:
  void begin();
  void end();

  MainWindow& window_;
  double seconds_;
  bool begun_ = false;
  int startStep_ = 0;
  QElapsedTimer clock_;
};

}  // namespace rl::ui
