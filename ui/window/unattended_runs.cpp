#include "window/unattended_runs.h"

#include <QFileInfo>
#include <QGuiApplication>
#include <QImage>
#include <QPixmap>
#include <QScreen>
#include <QTimer>
#include <QWindow>

#include "run/training_controller.h"
#include "views/representations_view.h"
#include "vulkan/point_cloud_view.h"
#include "window/main_window.h"

namespace rl::ui {

// --- screenshot ------------------------------------------------------------------------------

namespace {
constexpr int kGlideMs = 300;  // the point cloud's glide between embeddings (PointCloudView default)
}

ScreenshotRun::ScreenshotRun(MainWindow& window, int steps, QString path, int timeoutMs)
    : QObject(&window), window_(window), steps_(steps), path_(std::move(path)), timeoutMs_(timeoutMs) {}

void ScreenshotRun::start() {
  connect(&window_, &MainWindow::framePresented, this, &ScreenshotRun::onFrame);
  connect(&window_, &MainWindow::errorShown, this, [this](const QString& message) { fail(message); });
  QTimer::singleShot(timeoutMs_, this, [this] {
    fail(QString("timed out after %1 s waiting for the views to draw step %2").arg(timeoutMs_ / 1000).arg(steps_));
  });
  // Queued after the window's initial reset, so the run reaches exactly step N.
  if (steps_ > 0) window_.stepN(steps_);
}

void ScreenshotRun::onFrame(int step) {
  if (done_ || capturing_ || step < steps_) return;
  if (step > steps_) {
    fail(QString("the run went past step %1 (now %2) before it was drawn").arg(steps_).arg(step));
    return;
  }
  // The views have drawn step N. The Representations dock embeds step N's hidden states on its
  // own thread; wait for that too (and its glide), then give the rest of the window (status bar,
  // layouts, queued updates) a moment to settle so the picture is what a person would see.
  capturing_ = true;
  RepresentationsView* representations = window_.representationsView();
  if (representations && representations->isVisible() && representations->shownStep() != steps_) {
    // After the refresh for step N (a failed one leaves its reason in the dock's status line).
    connect(representations, &RepresentationsView::refreshEnded, this, [this, representations](bool shown) {
      if (!shown || representations->shownStep() == steps_)
        QTimer::singleShot(400 + kGlideMs, this, &ScreenshotRun::capture);
    });
    representations->refresh();  // queued behind a running embedding if there is one
    return;
  }
  QTimer::singleShot(400, this, &ScreenshotRun::capture);
}

QImage grabWholeWindow(QWidget& window) {
  QImage image;
  if (QScreen* screen = window.screen()) {
    image = screen->grabWindow(window.winId()).toImage();
  }
  // Some platforms cannot read the screen back (or return a blank/mis-sized image).
  const QSize expected = window.size() * window.devicePixelRatio();
  if (image.isNull() || image.size() != expected) image = window.grab().toImage();
  return image;
}

void ScreenshotRun::capture() {
  if (done_) return;
  const QImage image = grabWholeWindow(window_);
  if (image.isNull()) {
    fail("could not capture the window");
    return;
  }
  const QString temp = path_ + ".part.png";
  if (!image.save(temp, "PNG")) {
    QFile::remove(temp);
    fail(QString("%1: could not write the PNG").arg(path_));
    return;
  }
  QFile::remove(path_);
  if (!QFile::rename(temp, path_)) {
    QFile::remove(temp);
    fail(QString("%1: could not move the PNG into place").arg(path_));
    return;
  }
  done_ = true;
  const RunSnapshotPtr shown = window_.shownSnapshot();
  emit finished(0, QString("wrote %1 (%2x%3, step %4)")
                       .arg(QFileInfo(path_).absoluteFilePath())
                       .arg(image.width())
                       .arg(image.height())
                       .arg(shown ? shown->step : -1));
}

void ScreenshotRun::fail(const QString& message) {
  if (done_) return;
  done_ = true;
  emit finished(1, message);
}

// --- measure ---------------------------------------------------------------------------------

MeasureRun::MeasureRun(MainWindow& window, double seconds)
    : QObject(&window), window_(window), seconds_(seconds) {}

void MeasureRun::start() {
  // Start measuring once the first run is built and drawn, so set-up is not counted.
  connect(&window_, &MainWindow::framePresented, this, [this] {
    if (!begun_) begin();
  });
}

void MeasureRun::begin() {
  begun_ = true;
  window_.setSpeed(0);
  startStep_ = window_.shownSnapshot() ? window_.shownSnapshot()->step : 0;
  window_.play();
  // Frames from the first second of play include shader compilation and warm-up: skip it.
  QTimer::singleShot(1000, this, [this] {
    window_.clearFrameStats();
    const RunSnapshotPtr latest = window_.controller()->latest();
    startStep_ = latest ? latest->step : startStep_;
    clock_.start();
    QTimer::singleShot(int(seconds_ * 1000), this, &MeasureRun::end);
  });
}

void MeasureRun::end() {
  const RunSnapshotPtr latest = window_.controller()->latest();
  const double elapsed = double(clock_.nsecsElapsed()) / 1e9;
  window_.pause();
  const FrameStats& frames = window_.frameStats();
  const int steps = latest ? latest->step - startStep_ : 0;
  const double stepsPerSecond = elapsed > 0 ? steps / elapsed : 0;
  QString backend = latest ? QString::fromStdString(latest->backendName) : QString("?");
  if (latest && !latest->deviceName.empty()) backend += " / " + QString::fromStdString(latest->deviceName);
  const QString report =
      QString("measured %1 s of play at full speed on %2 (%3)\n"
              "frames drawn: %4 (%5 per second)\n"
              "frame time (push snapshot into visible views + repaint): median %6 ms, 95th percentile %7 ms\n"
              "training: %8 steps in %1 s = %9 steps/s (%10 ms/step)")
          .arg(elapsed, 0, 'f', 1)
          .arg(latest ? QString::fromStdString(latest->spec.name) : QString("?"))
          .arg(backend)
          .arg(frames.total())
          .arg(elapsed > 0 ? frames.total() / elapsed : 0, 0, 'f', 1)
          .arg(frames.median(), 0, 'f', 2)
          .arg(frames.percentile(95), 0, 'f', 2)
          .arg(steps)
          .arg(stepsPerSecond, 0, 'f', 0)
          .arg(stepsPerSecond > 0 ? 1000.0 / stepsPerSecond : 0, 0, 'f', 3);
  emit finished(steps > 0 ? 0 : 1, steps > 0 ? report : report + "\nno training steps ran");
}

}  // namespace rl::ui
