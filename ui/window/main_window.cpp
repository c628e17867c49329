#include "window/main_window.h"

#include <algorithm>

#include <QCloseEvent>
#include <QCoreApplication>
#include <QFileInfo>
#include <QResizeEvent>
#include <QShowEvent>
#include <QDockWidget>
#include <QMenuBar>
#include <QMetaObject>
#include <QTimer>
#include <QToolBar>
#include <QUndoStack>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "run/metatypes.h"
#include "run/training_controller.h"
#include "spec/presets.h"
#include "spec/spec_json.h"
#include "edit/spec_editor.h"
#include "views/collapse_view.h"
#include "views/figure_view.h"
#include "views/input_map_view.h"
#include "views/load_view.h"
#include "views/loss_view.h"
#include "views/representations_view.h"
#include "views/plot_style.h"
#include "views/routing_view.h"
#include "views/token_routing_view.h"
#include "window/look_for_box.h"
#include "window/message_banner.h"
#include "window/run_controls.h"
#include "window/status_panel.h"
#include "window/window_settings.h"

namespace rl::ui {

namespace {
constexpr int kFrameIntervalMs = 33;  // ~30 Hz: smooth enough, and cheap next to training
constexpr int kDefaultSpeed = 100;    // steps/s: the default preset's interesting part lasts ~1 s
}  // namespace

MainWindow::MainWindow(Options options, QWidget* parent)
    : QMainWindow(parent), options_(std::move(options)), spec_(options_.spec) {
  registerMetaTypes();
  setObjectName("routelabMainWindow");
  setWindowIcon(QIcon());
  resize(1600, 960);
  setDockNestingEnabled(true);
  setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowNestedDocks | QMainWindow::AllowTabbedDocks);

  // The worker: every Session call happens on this thread.
  controller_ = new TrainingController(options_.backend);
  controller_->moveToThread(&worker_);
  worker_.setObjectName("routelab-training");
  worker_.start();

  undo_ = new QUndoStack(this);
  connect(undo_, &QUndoStack::cleanChanged, this, [this] { updateTitle(); });

  controls_ = new RunControls(this);
  auto* toolbar = addToolBar("Training");
  toolbar->setObjectName("toolbarTraining");
  toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  controls_->populate(toolbar);

  status_ = new StatusPanel(statusBar());
  banner_ = new MessageBanner(this);  // floats over the top of the docks (placeBanner)
  connect(banner_, &MessageBanner::dismissed, this, [this] { banner_->hide(); });

  buildDocks();
  buildMenus();
  connectController();
  arrangeDefaultLayout();
  defaultLayout_ = saveState(WindowSettings::kLayoutVersion);
  if (options_.restoreLayout) layoutRestored_ = WindowSettings::restoreLayout(*this);

  recent_ = WindowSettings::recentFiles();
  rebuildRecentMenu();
  controls_->setSpeed(WindowSettings::speed(kDefaultSpeed));

  frameTimer_ = new QTimer(this);
  frameTimer_->setTimerType(Qt::PreciseTimer);
  connect(frameTimer_, &QTimer::timeout, this, &MainWindow::presentLatest);
  frameTimer_->start(kFrameIntervalMs);

  // Open ready to train: a fresh run on the given spec, paused.
  loadSpec(spec_);
}

MainWindow::~MainWindow() {
  frameTimer_->stop();
  controller_->pause();  // thread-safe: ends a play loop between two steps
  worker_.quit();
  worker_.wait();
  delete controller_;  // its thread has finished, so nothing else can touch it
}

QString MainWindow::bannerText() const { return banner_->isVisible() ? banner_->text() : QString(); }

// --- docks -----------------------------------------------------------------------------------

QDockWidget* MainWindow::addDock(const QString& title, const QString& objectName, QWidget* content,
                                 Qt::DockWidgetArea area) {
  auto* dock = new QDockWidget(title, this);
  dock->setObjectName(objectName);  // restoreState matches docks by object name
  dock->setWidget(content);
  dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable |
                    QDockWidget::DockWidgetFloatable);
  addDockWidget(area, dock);
  docks_ << dock;
  return dock;
}

void MainWindow::addViewDock(FigureView* view, Qt::DockWidgetArea area) {
  QDockWidget* dock = addDock(view->title(), "dock-" + view->objectName(), view, area);
  views_ << view;
  // A view that was closed or tabbed away missed frames: catch it up when it shows again.
  connect(dock, &QDockWidget::visibilityChanged, this, [this, view](bool visible) {
    if (visible) showSnapshotIn(view);
  });
}

void MainWindow::buildDocks() {
  auto* specPanel = new QWidget;
  auto* specLayout = new QVBoxLayout(specPanel);
  specLayout->setContentsMargins(4, 4, 4, 4);
  lookFor_ = new LookForBox(specPanel);
  specLayout->addWidget(lookFor_);
  editor_ = new SpecEditor(undo_, specPanel);
  specLayout->addWidget(editor_, 1);
  addDock("Model and training", "dock-spec", specPanel, Qt::LeftDockWidgetArea);

  // Live views. Object names are the docks' identities in saved layouts: keep them stable.
  auto withName = [](FigureView* view, const char* name) {
    view->setObjectName(name);
    return view;
  };
  // Transformer models: which expert each token goes to. Tabbed with the input map (which only
  // MLP models on 2-D data fill); loadSpec raises the one the model uses.
  tokenRouting_ = new TokenRoutingView;
  addViewDock(withName(tokenRouting_, "tokenRouting"), Qt::RightDockWidgetArea);
  addViewDock(withName(new InputMapView, "inputMap"), Qt::RightDockWidgetArea);
  routing_ = new RoutingView;
  addViewDock(withName(routing_, "routing"), Qt::RightDockWidgetArea);
  lossView_ = new LossView;
  addViewDock(withName(lossView_, "loss"), Qt::RightDockWidgetArea);
  addViewDock(withName(new LoadView, "load"), Qt::RightDockWidgetArea);
  addViewDock(withName(new CollapseView, "collapse"), Qt::RightDockWidgetArea);

  // t-SNE of the hidden states in the Vulkan point-cloud view; it exports its own PNG (File →
  // Export all figures renders widgets, which cannot read Vulkan content back).
  representations_ = new RepresentationsView;
  QDockWidget* dock = addDock(representations_->title(), "dock-representations", representations_,
                              Qt::RightDockWidgetArea);
  connect(dock, &QDockWidget::visibilityChanged, this, [this](bool visible) {
    if (visible && shown_) representations_->showSnapshot(*shown_);
  });
}

QDockWidget* MainWindow::dockNamed(const QString& objectName) const {
  for (QDockWidget* dock : docks_)
    if (dock->objectName() == objectName) return dock;
  return nullptr;
}

void MainWindow::arrangeDefaultLayout() {
  // Spec on the left; the input map above the routing heatmap in the middle; the time series
  // (loss, load, collapse) stacked on the right.
  for (QDockWidget* dock : docks_) {
    dock->setFloating(false);
    dock->show();
  }
  QDockWidget* spec = dockNamed("dock-spec");
  QDockWidget* inputMap = dockNamed("dock-inputMap");
  QDockWidget* routing = dockNamed("dock-routing");
  QDockWidget* loss = dockNamed("dock-loss");
  QDockWidget* load = dockNamed("dock-load");
  QDockWidget* collapse = dockNamed("dock-collapse");
  QDockWidget* representations = dockNamed("dock-representations");
  addDockWidget(Qt::LeftDockWidgetArea, spec);
  addDockWidget(Qt::RightDockWidgetArea, inputMap);
  splitDockWidget(inputMap, loss, Qt::Horizontal);
  splitDockWidget(inputMap, routing, Qt::Vertical);
  splitDockWidget(inputMap, representations, Qt::Horizontal);
  splitDockWidget(loss, load, Qt::Vertical);
  splitDockWidget(load, collapse, Qt::Vertical);
  tabifyDockWidget(inputMap, dockNamed("dock-tokenRouting"));
  inputMap->raise();
}

void MainWindow::applyDefaultSizes() {
  // Shares of the window measured on the 1600×1000 screenshot: the spec editor's fields need
  // ~300 px, the input map is square with its legend beside it, the point cloud beside it, and the
  // time series' legends wrap to more rows when narrow.
  auto dock = [this](const char* name) { return dockNamed(name); };
  const int w = width(), h = height();
  resizeDocks({dock("dock-spec"), dock("dock-inputMap"), dock("dock-loss")}, {w * 19 / 100, w * 53 / 100, w * 28 / 100},
              Qt::Horizontal);
  resizeDocks({dock("dock-inputMap"), dock("dock-representations")}, {w * 28 / 100, w * 25 / 100}, Qt::Horizontal);
  resizeDocks({dock("dock-inputMap"), dock("dock-routing")}, {h * 53 / 100, h * 47 / 100}, Qt::Vertical);
  resizeDocks({dock("dock-loss"), dock("dock-load"), dock("dock-collapse")}, {h / 3, h / 3, h / 3}, Qt::Vertical);
}

void MainWindow::showEvent(QShowEvent* event) {
  QMainWindow::showEvent(event);
  if (shownOnce_) return;
  shownOnce_ = true;
  // Dock sizes only stick once the window has its real size; a restored layout keeps its own.
  if (!layoutRestored_) QTimer::singleShot(0, this, &MainWindow::applyDefaultSizes);
}

void MainWindow::resetLayout() {
  restoreState(defaultLayout_, WindowSettings::kLayoutVersion);
  for (QDockWidget* dock : docks_) dock->show();
  applyDefaultSizes();
}

// --- controller ------------------------------------------------------------------------------

void MainWindow::connectController() {
  // Queued: the controller lives on the worker thread, `this` on the UI thread.
  connect(controls_, &RunControls::playRequested, this, &MainWindow::play);
  connect(controls_, &RunControls::pauseRequested, this, &MainWindow::pause);
  connect(controls_, &RunControls::stepRequested, this, &MainWindow::stepOnce);
  connect(controls_, &RunControls::stepNRequested, this, &MainWindow::stepN);
  connect(controls_, &RunControls::resetRequested, this, &MainWindow::resetRun);
  connect(controls_, &RunControls::speedChanged, this, &MainWindow::setSpeed);

  // Every push, undo and redo of an edit rebuilds the run, keeping the weights that still fit.
  connect(editor_, &SpecEditor::specEdited, this, [this](const rl::Spec& spec) {
    spec_ = spec;
    QMetaObject::invokeMethod(controller_, [c = controller_, spec] { c->applySpec(spec); }, Qt::QueuedConnection);
  });
  // The loss view's timeline: right-click a step to rewind to, or fork from, its snapshot.
  connect(lossView_, &LossView::rewindRequested, this, [this](int step) {
    pause();
    QMetaObject::invokeMethod(controller_, [c = controller_, step] { c->rewindTo(step); }, Qt::QueuedConnection);
  });
  connect(lossView_, &LossView::forkRequested, this, [this](int step) {
    pause();
    QMetaObject::invokeMethod(controller_, [c = controller_, step] { c->forkAt(step); }, Qt::QueuedConnection);
  });

  // The Representations dock asks the worker for hidden states; lassoed rows light up in the heatmap
  // and in the token routing view.
  connect(representations_, &RepresentationsView::hiddenStatesRequested, this, [this](int layer, int side, int rows) {
    QMetaObject::invokeMethod(
        controller_, [c = controller_, layer, side, rows] { c->requestHiddenStates(layer, side, rows); },
        Qt::QueuedConnection);
  });
  connect(controller_, &TrainingController::hiddenStatesReady, representations_, &RepresentationsView::showHiddenStates);
  connect(controller_, &TrainingController::hiddenStatesFailed, representations_, &RepresentationsView::showFailure);
  connect(representations_, &RepresentationsView::rowsSelected, this, [this](const QVector<int>& rows) {
    const std::vector<int> selected(rows.begin(), rows.end());
    routing_->setHighlightedRows(selected);
    tokenRouting_->setSelectedRows(selected);
  });
  // A token clicked in the token routing view is selected in the cloud (and so everywhere).
  connect(tokenRouting_, &TokenRoutingView::rowsPicked, representations_, &RepresentationsView::selectRows);

  connect(controller_, &TrainingController::error, this,
          [this](const QString& message) { showError("Error", message); });
  connect(controller_, &TrainingController::diverged, this,
          [this](const QString& message) { showError("Training diverged (paused)", message); });
  connect(controller_, &TrainingController::projectOpened, this, &MainWindow::onProjectOpened);
  connect(controller_, &TrainingController::projectSaved, this, &MainWindow::onProjectSaved);
  connect(controller_, &TrainingController::runExported, this,
          [this](const QString& dir) { status_->showMessage(QString("Run exported to %1").arg(dir)); });
}

void MainWindow::play() {
  controls_->setPlaying(true);
  QMetaObject::invokeMethod(controller_, &TrainingController::play, Qt::QueuedConnection);
}

void MainWindow::pause() {
  controls_->setPlaying(false);
  controller_->pause();  // direct: an atomic flag the play loop checks between steps
  // ... and queued too, so a play() still waiting in the worker's queue is cancelled as well.
  QMetaObject::invokeMethod(controller_, &TrainingController::pause, Qt::QueuedConnection);
}

void MainWindow::stepOnce() {
  QMetaObject::invokeMethod(controller_, &TrainingController::stepOnce, Qt::QueuedConnection);
}

void MainWindow::stepN(int steps) {
  QMetaObject::invokeMethod(controller_, [c = controller_, steps] { c->stepN(steps); }, Qt::QueuedConnection);
}

void MainWindow::resetRun() {
  pause();
  const rl::Spec spec = spec_;
  QMetaObject::invokeMethod(controller_, [c = controller_, spec] { c->reset(spec); }, Qt::QueuedConnection);
  status_->showMessage("Reset: fresh weights, history cleared");
}

void MainWindow::setSpeed(int stepsPerSecond) {
  if (controls_->speed() != stepsPerSecond) controls_->setSpeed(stepsPerSecond);
  WindowSettings::setSpeed(stepsPerSecond);
  QMetaObject::invokeMethod(controller_, [c = controller_, stepsPerSecond] { c->setSpeed(stepsPerSecond); },
                            Qt::QueuedConnection);
}

void MainWindow::loadPreset(const QString& name) {
  try {
    loadSpec(rl::loadPreset(name.toStdString()));
  } catch (const std::exception& e) {
    showError("Unknown preset", QString::fromStdString(e.what()));
  }
}

void MainWindow::loadSpec(const rl::Spec& spec) {
  pause();
  spec_ = spec;
  editor_->setSpec(spec);  // no undo entry: a new run, not an edit
  undo_->clear();
  projectPath_.clear();
  lookFor_->setSpecText(QString::fromStdString(spec.name), QString::fromStdString(spec.description));
  if (QDockWidget* tokens = dockNamed("dock-tokenRouting"); tokens && !tokens->isFloating())
    (spec.model.kind == ModelKind::Transformer ? tokens : dockNamed("dock-inputMap"))->raise();
  QMetaObject::invokeMethod(controller_, [c = controller_, spec] { c->reset(spec); }, Qt::QueuedConnection);
  updateTitle();
}

void MainWindow::showError(const QString& title, const QString& detail) {
  lastError_ = detail.isEmpty() ? title : QString("%1: %2").arg(title, detail);
  banner_->showMessage(MessageBanner::Kind::Error, title, detail);
  placeBanner();
  status_->showMessage(lastError_);
  emit errorShown(lastError_);
}

void MainWindow::placeBanner() {
  if (!banner_->isVisible()) return;
  // Over the top of the docks, just under the toolbar: impossible to miss, never modal.
  int top = menuBar()->geometry().bottom();
  for (QToolBar* bar : findChildren<QToolBar*>())
    if (bar->isVisible() && toolBarArea(bar) == Qt::TopToolBarArea) top = std::max(top, bar->geometry().bottom());
  const int width = std::min(this->width() - 40, 960);
  banner_->setFixedWidth(width);
  banner_->setFixedHeight(banner_->heightForWidth(width) > 0 ? banner_->heightForWidth(width)
                                                             : banner_->sizeHint().height());
  banner_->move((this->width() - width) / 2, top + 8);
  banner_->raise();
}

void MainWindow::resizeEvent(QResizeEvent* event) {
  QMainWindow::resizeEvent(event);
  placeBanner();
}

// --- display-rate redraw ---------------------------------------------------------------------

void MainWindow::presentLatest() {
  const RunSnapshotPtr snapshot = controller_->latest();
  if (!snapshot || snapshot == shown_) return;
  QElapsedTimer timer;
  timer.start();
  if (snapshot->playing != shownPlaying_) {
    // Follow the run's own state (e.g. it paused itself on divergence); plots draw for speed while
    // it plays (before this frame's replots, so the first paused frame is antialiased).
    shownPlaying_ = snapshot->playing;
    controls_->setPlaying(snapshot->playing);
    for (FigureView* view : views_)
      for (QCustomPlot* plot : view->findChildren<QCustomPlot*>()) setLiveDrawing(*plot, shownPlaying_);
  }
  QList<FigureView*> visible;
  for (FigureView* view : views_)
    if (view->isVisible()) visible << view;
  for (FigureView* view : visible) view->showSnapshot(*snapshot);
  // Draw now, inside the measured frame, rather than whenever the event loop gets to it: the
  // plots' queued replots (posted calls) first, then the paint into the window's backing store.
  QCoreApplication::sendPostedEvents(nullptr, QEvent::MetaCall);
  for (FigureView* view : visible) view->repaint();
  frames_.record(double(timer.nsecsElapsed()) / 1e6);
  shown_ = snapshot;

  representations_->showSnapshot(*snapshot);  // cheap: may ask for a refresh, draws on its own
  status_->showSnapshot(*snapshot);
  lookFor_->setSpecText(QString::fromStdString(snapshot->spec.name),
                        QString::fromStdString(snapshot->spec.description));
  emit framePresented(snapshot->step);
}

void MainWindow::showSnapshotIn(FigureView* view) {
  if (shown_) view->showSnapshot(*shown_);
}

void MainWindow::updateTitle() {
  QString name = projectPath_.isEmpty() ? QString::fromStdString(spec_.name) : QFileInfo(projectPath_).fileName();
  if (name.isEmpty()) name = "untitled";
  setWindowTitle(QString("%1[*] — Routelab").arg(name));
  setWindowModified(!undo_->isClean());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  WindowSettings::saveLayout(*this);
  controller_->pause();
  QMainWindow::closeEvent(event);
}

}  // namespace rl::ui
