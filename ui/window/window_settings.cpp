#include "window/window_settings.h"

#include <QFileInfo>
#include <QMainWindow>
#include <QSettings>

namespace rl::ui {

// Every accessor names the scope explicitly rather than relying on QCoreApplication's names, so
// the app and the tests (which redirect QSettings to a temporary directory) agree on it.

void WindowSettings::saveLayout(const QMainWindow& window) {
  QSettings s("Routelab", "routelab");
  s.setValue("window/geometry", window.saveGeometry());
  s.setValue("window/state", window.saveState(kLayoutVersion));
}

bool WindowSettings::restoreLayout(QMainWindow& window) {
  QSettings s("Routelab", "routelab");
  const QByteArray geometry = s.value("window/geometry").toByteArray();
  const QByteArray state = s.value("window/state").toByteArray();
  if (geometry.isEmpty() || state.isEmpty()) return false;
  const bool geometryRestored = window.restoreGeometry(geometry);
  return window.restoreState(state, kLayoutVersion) && geometryRestored;
}

QStringList WindowSettings::recentFiles() {
  QSettings s("Routelab", "routelab");
  return s.value("files/recent").toStringList();
}

QStringList WindowSettings::addRecentFile(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  QStringList files = recentFiles();
  files.removeAll(absolute);
  files.prepend(absolute);
  while (files.size() > kMaxRecentFiles) files.removeLast();
  QSettings("Routelab", "routelab").setValue("files/recent", files);
  return files;
}

QStringList WindowSettings::removeRecentFile(const QString& path) {
  QStringList files = recentFiles();
  files.removeAll(QFileInfo(path).absoluteFilePath());
  QSettings("Routelab", "routelab").setValue("files/recent", files);
  return files;
}

int WindowSettings::speed(int fallback) {
  return QSettings("Routelab", "routelab").value("run/speed", fallback).toInt();
}

void WindowSettings::setSpeed(int stepsPerSecond) {
  QSettings("Routelab", "routelab").setValue("run/speed", stepsPerSecond);
}

}  // namespace rl::ui
