// MainWindow's menus: File, Edit, Run, Presets, View, Help.
#include <QAction>
#include <QApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QFileInfo>
#include <QHeaderView>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QTableWidget>
#include <QUndoStack>
#include <QVBoxLayout>

#include "spec/presets.h"
#include "views/representations_view.h"
#include "window/main_window.h"
#include "window/run_controls.h"

namespace rl::ui {

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu("&File");
  file->setToolTipsVisible(true);
  file->addAction("&New from preset…", this, &MainWindow::newFromPresetDialog);
  QAction* open = file->addAction("&Open…", this, &MainWindow::openDialog);
  open->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_O));
  QAction* save = file->addAction("&Save", this, &MainWindow::save);
  save->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_S));
  file->addAction("Save &As…", this, &MainWindow::saveAsDialog)->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
  recentMenu_ = file->addMenu("Open &Recent");
  file->addSeparator();
  file->addAction("&Export run…", this, &MainWindow::exportRunDialog)
      ->setStatusTip("Write config.json, weights.safetensors, metrics.csv and summary.json (as routelab-cli train)");
  file->addAction("Export all &figures…", this, &MainWindow::exportAllFiguresDialog)
      ->setStatusTip("Write every view as PNG, SVG and PDF into one folder");
  file->addSeparator();
  QAction* quit = file->addAction("&Quit", this, &QWidget::close);
  quit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));

  QMenu* edit = menuBar()->addMenu("&Edit");
  QAction* undo = undo_->createUndoAction(this, "&Undo");
  undo->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Z));
  QAction* redo = undo_->createRedoAction(this, "&Redo");
  redo->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z));
  edit->addAction(undo);
  edit->addAction(redo);

  QMenu* run = menuBar()->addMenu("&Run");
  run->addAction(controls_->playPause());
  run->addAction(controls_->step());
  run->addAction(controls_->stepN());
  run->addAction(controls_->reset());

  QMenu* presets = menuBar()->addMenu("&Presets");
  presets->setToolTipsVisible(true);
  for (const std::string& name : rl::presetNames()) {
    const QString qname = QString::fromStdString(name);
    const QString description = QString::fromStdString(rl::loadPreset(name).description);
    QAction* action = presets->addAction(name == rl::kDefaultPreset ? qname + "  (default)" : qname);
    action->setObjectName("preset-" + qname);
    action->setStatusTip(description);
    action->setToolTip(description);
    connect(action, &QAction::triggered, this, [this, qname] { loadPreset(qname); });
  }

  viewMenu_ = menuBar()->addMenu("&View");
  for (QDockWidget* dock : docks_) viewMenu_->addAction(dock->toggleViewAction());
  viewMenu_->addSeparator();
  QAction* refresh = viewMenu_->addAction("&Refresh representations", representations_, &RepresentationsView::refresh);
  refresh->setObjectName("refreshRepresentations");
  refresh->setShortcut(QKeySequence(Qt::Key_F5));
  viewMenu_->addAction("Reset &layout", this, &MainWindow::resetLayout);

  QMenu* help = menuBar()->addMenu("&Help");
  help->addAction("&Keyboard shortcuts", this, &MainWindow::showShortcuts)->setShortcut(QKeySequence::HelpContents);
  help->addAction("&About Routelab", this, &MainWindow::showAbout);
}

void MainWindow::rebuildRecentMenu() {
  recentMenu_->clear();
  for (const QString& path : recent_) {
    QAction* action = recentMenu_->addAction(QFileInfo(path).fileName());
    action->setStatusTip(path);
    action->setToolTip(path);
    connect(action, &QAction::triggered, this, [this, path] { openProject(path); });
  }
  recentMenu_->setEnabled(!recent_.isEmpty());
}

void MainWindow::showShortcuts() {
  // Read from the actions themselves, so the list cannot drift from what the keys do.
  QList<QAction*> actions;
  for (QAction* menuAction : menuBar()->actions())
    if (QMenu* menu = menuAction->menu())
      for (QAction* a : menu->actions())
        if (!a->shortcut().isEmpty()) actions << a;
  QDialog dialog(this);
  dialog.setWindowTitle("Keyboard shortcuts");
  auto* layout = new QVBoxLayout(&dialog);
  auto* table = new QTableWidget(int(actions.size()), 2, &dialog);
  table->setHorizontalHeaderLabels({"Key", "Action"});
  table->verticalHeader()->hide();
  table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  for (int i = 0; i < actions.size(); ++i) {
    table->setItem(i, 0, new QTableWidgetItem(actions[i]->shortcut().toString(QKeySequence::NativeText)));
    table->setItem(i, 1, new QTableWidgetItem(actions[i]->text().remove('&')));
  }
  table->horizontalHeader()->setStretchLastSection(true);
  table->resizeColumnsToContents();
  layout->addWidget(table);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, &dialog);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  layout->addWidget(buttons);
  dialog.resize(420, 420);
  dialog.exec();
}

void MainWindow::showAbout() {
  QMessageBox::about(this, "About Routelab",
                     "<b>Routelab</b><br>See modular neural networks learn: edit a small "
                     "Mixture-of-Experts network and watch routing, expert load and collapse live "
                     "while it trains (Vulkan compute with an Eigen CPU reference).");
}

}  // namespace rl::ui
