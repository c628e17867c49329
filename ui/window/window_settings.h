#pragma once
// What the window remembers between sessions (QSettings, organisation "Routelab", application
// "routelab"): geometry, dock layout, recent project files and the speed setting.
#include <QByteArray>
#include <QStringList>

class QMainWindow;

namespace rl::ui {

class WindowSettings {
 public:
  static constexpr int kMaxRecentFiles = 8;
  // Bumped whenever the set of docks changes, so an old saved layout is not applied to new docks.
  static constexpr int kLayoutVersion = 2;  // 2: the Representations dock

  static void saveLayout(const QMainWindow& window);
  // Returns false when nothing (or an incompatible layout) was saved.
  static bool restoreLayout(QMainWindow& window);

  static QStringList recentFiles();
  // Moves path to the front (absolute), dropping duplicates and files beyond kMaxRecentFiles.
  static QStringList addRecentFile(const QString& path);
  static QStringList removeRecentFile(const QString& path);

  static int speed(int fallback);  // steps/s, 0 = unlimited
  static void setSpeed(int stepsPerSecond);
};

}  // namespace rl::ui
