// routelab: the desktop app. Opens the main window on a preset or spec file; --screenshot and
// --measure run it unattended (README picture, performance note).
#include <QApplication>
#include <QScreen>
#include <QStringList>
#include <cstdio>
#include <exception>

#include "window/launch_options.h"
#include "window/main_window.h"
#include "window/unattended_runs.h"

int main(int argc, char** argv) {
  // Parse before QApplication exists, so --help and usage errors work without a display.
  QStringList args;
  for (int i = 1; i < argc; ++i) args << QString::fromLocal8Bit(argv[i]);
  rl::ui::LaunchOptions options;
  QString error;
  if (!rl::ui::parseLaunchOptions(args, options, error)) {
    std::fprintf(stderr, "routelab: %s\n\n%s", qPrintable(error), qPrintable(rl::ui::launchUsage()));
    return 2;
  }
  if (options.help) {
    std::printf("%s", qPrintable(rl::ui::launchUsage()));
    return 0;
  }
  rl::Spec spec;
  try {
    spec = rl::ui::initialSpec(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "routelab: %s\n", e.what());
    return 2;
  }

  QApplication app(argc, argv);
  QApplication::setOrganizationName("Routelab");
  QApplication::setApplicationName("routelab");

  const bool unattended = !options.screenshot.isEmpty() || options.measureSeconds > 0;
  rl::ui::MainWindow::Options windowOptions;
  windowOptions.backend = options.backend;
  windowOptions.spec = spec;
  // Unattended runs use the default layout on the whole screen, so their results are comparable.
  windowOptions.restoreLayout = !unattended;
  rl::ui::MainWindow window(windowOptions);
  if (unattended) window.setGeometry(QGuiApplication::primaryScreen()->availableGeometry());
  window.show();

  auto report = [&app](int code, const QString& message) {
    std::fprintf(code == 0 ? stdout : stderr, "%s%s\n", code == 0 ? "" : "routelab: ", qPrintable(message));
    std::fflush(nullptr);
    app.exit(code);
  };
  if (!options.screenshot.isEmpty()) {
    auto* run = new rl::ui::ScreenshotRun(window, options.steps, options.screenshot);
    QObject::connect(run, &rl::ui::ScreenshotRun::finished, &app, report, Qt::QueuedConnection);
    run->start();
  } else if (options.measureSeconds > 0) {
    auto* run = new rl::ui::MeasureRun(window, options.measureSeconds);
    QObject::connect(run, &rl::ui::MeasureRun::finished, &app, report, Qt::QueuedConnection);
    run->start();
  } else if (options.steps > 0) {
    window.stepN(options.steps);
  }
  return app.exec();
}
