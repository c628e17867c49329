#pragma once
// MainWindow: the Routelab desktop app. Owns the worker thread with the TrainingController, the
// undo stack, and the docks (spec editor and live views). A ~30 Hz timer pulls the controller's
// latest snapshot and, when it changed, pushes it into the visible views; the UI never waits on
// the controller.
#include <QElapsedTimer>
#include <QList>
#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <QThread>

#include "run/run_snapshot.h"
#include "spec/spec.h"
#include "window/frame_stats.h"

class QAction;
class QDockWidget;
class QMenu;
class QTimer;
class QUndoStack;

namespace rl::ui {

class FigureView;
class LookForBox;
class LossView;
class SpecEditor;
class MessageBanner;
class RepresentationsView;
class RoutingView;
class RunControls;
class StatusPanel;
class TokenRoutingView;
class TrainingController;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  struct Options {
    QString backend = "auto";  // auto | vulkan | cpu
    rl::Spec spec;             // the spec the first run is built from
    bool restoreLayout = true; // apply the saved geometry and dock layout (QSettings)
  };
  explicit MainWindow(Options options, QWidget* parent = nullptr);
  ~MainWindow() override;

  TrainingController* controller() const { return controller_; }
  QUndoStack* undoStack() const { return undo_; }
  RunControls* runControls() const { return controls_; }
  StatusPanel* statusPanel() const { return status_; }
  SpecEditor* specEditor() const { return editor_; }
  QList<FigureView*> figureViews() const { return views_; }
  RepresentationsView* representationsView() const { return representations_; }
  RoutingView* routingView() const { return routing_; }
  TokenRoutingView* tokenRoutingView() const { return tokenRouting_; }
  QList<QDockWidget*> docks() const { return docks_; }
  // The snapshot last pushed into the views (null before the first one arrived).
  RunSnapshotPtr shownSnapshot() const { return shown_; }
  const FrameStats& frameStats() const { return frames_; }
  void clearFrameStats() { frames_.clear(); }
  // The spec the next Reset builds from (the editor's, once edited).
  const rl::Spec& currentSpec() const { return spec_; }
  QString projectPath() const { return projectPath_; }
  QString lastError() const { return lastError_; }      // last error or divergence shown
  QString bannerText() const;                            // what the banner shows now ("" = hidden)
  QStringList recentFiles() const { return recent_; }

 public slots:
  void play();
  void pause();
  void stepOnce();
  void stepN(int steps);
  void resetRun();                          // fresh weights from currentSpec(), history cleared
  void setSpeed(int stepsPerSecond);        // 0 = unlimited
  void loadPreset(const QString& name);     // resets to the preset; clears undo history
  void loadSpec(const rl::Spec& spec);      // same, for any spec
  void openProject(const QString& path);    // no dialog; errors go to the banner
  void saveProjectAs(const QString& path);  // no dialog
  void exportRun(const QString& dir);       // config.json, weights, metrics.csv, summary.json
  // Every FigureView as <dir>/<title>.{png,svg,pdf}; returns the errors (empty on success).
  QStringList exportAllFigures(const QString& dir, bool showProgress = false);
  void resetLayout();
  void showError(const QString& title, const QString& detail);

 signals:
  // After a new snapshot was pushed into the visible views and they repainted.
  void framePresented(int step);
  void errorShown(const QString& message);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void showEvent(QShowEvent* event) override;

 private:
  // Built once in the constructor (main_window.cpp).
  void buildDocks();
  QDockWidget* addDock(const QString& title, const QString& objectName, QWidget* content,
                       Qt::DockWidgetArea area);
  void addViewDock(FigureView* view, Qt::DockWidgetArea area);
  void arrangeDefaultLayout();
  void applyDefaultSizes();
  QDockWidget* dockNamed(const QString& objectName) const;
  void connectController();
  void presentLatest();                       // the display-rate tick
  void showSnapshotIn(FigureView* view);      // when a hidden view comes back
  void updateTitle();
  void placeBanner();

  // Menus and actions (main_window_menus.cpp).
  void buildMenus();
  void rebuildRecentMenu();
  void showShortcuts();
  void showAbout();

  // File commands with dialogs (main_window_files.cpp).
  void newFromPresetDialog();
  void openDialog();
  void save();
  void saveAsDialog();
  void exportRunDialog();
  void exportAllFiguresDialog();
  void onProjectOpened(const QString& path);
  void onProjectSaved(const QString& path);
  void rememberRecent(const QString& path);

  Options options_;
  QThread worker_;
  TrainingController* controller_ = nullptr;
  QUndoStack* undo_ = nullptr;
  RunControls* controls_ = nullptr;
  StatusPanel* status_ = nullptr;
  MessageBanner* banner_ = nullptr;
  LookForBox* lookFor_ = nullptr;
  SpecEditor* editor_ = nullptr;
  LossView* lossView_ = nullptr;
  RoutingView* routing_ = nullptr;
  TokenRoutingView* tokenRouting_ = nullptr;
  RepresentationsView* representations_ = nullptr;  // the Vulkan point cloud (not a FigureView)
  QTimer* frameTimer_ = nullptr;

  QList<QDockWidget*> docks_;
  QList<FigureView*> views_;
  QByteArray defaultLayout_;
  bool layoutRestored_ = false, shownOnce_ = false;
  QMenu* viewMenu_ = nullptr;
  QMenu* recentMenu_ = nullptr;

  rl::Spec spec_;
  RunSnapshotPtr shown_;
  bool shownPlaying_ = false;
  FrameStats frames_;
  QString projectPath_;
  QString lastError_;
  QStringList recent_;
};

}  // namespace rl::ui
