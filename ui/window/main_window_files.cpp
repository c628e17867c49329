// MainWindow's file commands: the dialogs, and what happens when the controller reports back.
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMetaObject>
#include <QUndoStack>

#include "edit/spec_editor.h"
#include "run/training_controller.h"
#include "views/figure_view.h"
#include "views/representations_view.h"
#include "window/figure_export.h"
#include "window/main_window.h"
#include "window/preset_dialog.h"
#include "window/status_panel.h"
#include "window/window_settings.h"

namespace rl::ui {

namespace {
const char* kProjectFilter = "Routelab projects (*.routelab);;All files (*)";

QString startDir(const QString& projectPath) {
  return projectPath.isEmpty() ? QDir::homePath() : QFileInfo(projectPath).absolutePath();
}
}  // namespace

void MainWindow::newFromPresetDialog() {
  PresetDialog dialog(QString::fromStdString(spec_.name), this);
  if (dialog.exec() == QDialog::Accepted && !dialog.selectedPreset().isEmpty()) loadPreset(dialog.selectedPreset());
}

void MainWindow::openDialog() {
  const QString path = QFileDialog::getOpenFileName(this, "Open project", startDir(projectPath_), kProjectFilter);
  if (!path.isEmpty()) openProject(path);
}

void MainWindow::openProject(const QString& path) {
  // No pause here: on error the controller changes nothing, not even whether it plays (and says
  // why through error()); on success it stops by itself.
  QMetaObject::invokeMethod(controller_, [c = controller_, path] { c->openProject(path); }, Qt::QueuedConnection);
}

void MainWindow::onProjectOpened(const QString& path) {
  projectPath_ = path;
  // The controller publishes the opened run before it reports, so latest() holds its spec.
  if (const RunSnapshotPtr snapshot = controller_->latest()) spec_ = snapshot->spec;
  editor_->setSpec(spec_);
  undo_->clear();
  rememberRecent(path);
  status_->showMessage(QString("Opened %1").arg(path));
  updateTitle();
}

void MainWindow::save() {
  if (projectPath_.isEmpty()) {
    saveAsDialog();
  } else {
    saveProjectAs(projectPath_);
  }
}

void MainWindow::saveAsDialog() {
  QString suggested = QDir(startDir(projectPath_)).filePath(
      QString::fromStdString(spec_.name.empty() ? "project" : spec_.name) + ".routelab");
  if (!projectPath_.isEmpty()) suggested = projectPath_;
  QString path = QFileDialog::getSaveFileName(this, "Save project", suggested, kProjectFilter);
  if (path.isEmpty()) return;
  if (QFileInfo(path).suffix().isEmpty()) path += ".routelab";
  saveProjectAs(path);
}

void MainWindow::saveProjectAs(const QString& path) {
  QMetaObject::invokeMethod(controller_, [c = controller_, path] { c->saveProject(path); }, Qt::QueuedConnection);
}

void MainWindow::onProjectSaved(const QString& path) {
  projectPath_ = path;
  undo_->setClean();
  rememberRecent(path);
  status_->showMessage(QString("Saved %1").arg(path));
  updateTitle();
}

void MainWindow::rememberRecent(const QString& path) {
  recent_ = WindowSettings::addRecentFile(path);
  rebuildRecentMenu();
}

void MainWindow::exportRunDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, "Export run to folder", startDir(projectPath_));
  if (!dir.isEmpty()) exportRun(dir);
}

void MainWindow::exportRun(const QString& dir) {
  QMetaObject::invokeMethod(controller_, [c = controller_, dir] { c->exportRun(dir); }, Qt::QueuedConnection);
}

void MainWindow::exportAllFiguresDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, "Export all figures to folder", startDir(projectPath_));
  if (dir.isEmpty()) return;
  const QStringList errors = exportAllFigures(dir, true);
  if (!errors.isEmpty()) showError("Some figures were not written", errors.join('\n'));
}

QStringList MainWindow::exportAllFigures(const QString& dir, bool showProgress) {
  // Hidden views missed frames: bring every view up to the latest snapshot first.
  for (FigureView* view : views_) showSnapshotIn(view);
  FigureExportResult result = exportFigures(views_, dir, showProgress ? this : nullptr);
  // The point cloud is Vulkan content: PNG only, read back from the view (when it is shown).
  if (representations_->isVisible() && representations_->shownStep() >= 0) {
    const QString png = QDir(dir).filePath("representations.png");
    if (const QString problem = representations_->exportPng(png); problem.isEmpty())
      result.written << png;
    else
      result.errors << problem;
  }
  if (result.errors.isEmpty()) {
    status_->showMessage(QString("Wrote %1 figure files to %2").arg(result.written.size()).arg(dir));
  }
  return result.errors;
}

}  // namespace rl::ui
