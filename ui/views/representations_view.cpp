#include "views/representations_view.h"

#include <QActionGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QMenu>
#include <QProgressBar>
#include <QSettings>
#include <QSpinBox>
#include <QStackedWidget>
#include <QThread>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>
#include <QWidgetAction>
#include <cmath>
#include <utility>

#include "run/row_set.h"
#include "views/embedding_job.h"
#include "views/representation_cloud.h"
#include "vulkan/point_cloud_view.h"

namespace rl::ui {

namespace {

QString methodText(tsne::Method m) {
  switch (m) {
    case tsne::Method::Cpu: return "t-SNE";
    case tsne::Method::Vulkan: return "t-SNE (Vulkan)";
    case tsne::Method::Pca: return "PCA";
  }
  return {};
}

// Same rows, same representation: a t-SNE may start from the embedding on screen.
bool sameRows(const HiddenStates& a, const HiddenStates& b) {
  return a.rows == b.rows && a.layer == b.layer && a.side == b.side && a.dim == b.dim && a.testRows == b.testRows;
}

// PCA's axes have no sign: flip them to agree with the embedding on screen, so a refresh does not
// mirror the picture.
void alignSigns(std::vector<float>& embedding, const std::vector<float>& previous) {
  if (previous.size() != embedding.size()) return;
  for (int axis = 0; axis < 2; ++axis) {
    double dot = 0;
    for (size_t i = axis; i < embedding.size(); i += 2) dot += double(embedding[i]) * previous[i];
    if (dot < 0)
      for (size_t i = axis; i < embedding.size(); i += 2) embedding[i] = -embedding[i];
  }
}

// A spin box inside a menu: Return commits the number and closes the menu. QSpinBox ignores
// Return, and the menu then takes it as "activate the highlighted item": the first Return
// highlighted the first method and the second switched the method to it and refreshed.
class MenuSpinBox : public QSpinBox {
 public:
  using QSpinBox::QSpinBox;

 protected:
  void keyPressEvent(QKeyEvent* event) override {
    QSpinBox::keyPressEvent(event);
    if (event->key() != Qt::Key_Return && event->key() != Qt::Key_Enter) return;
    event->accept();
    for (QObject* p = parent(); p; p = p->parent())
      if (auto* menu = qobject_cast<QMenu*>(p)) {
        menu->close();
        return;
      }
  }
};

QSpinBox* menuSpin(QMenu* menu, const QString& label, int lo, int hi, int value, int step = 1) {
  auto* row = new QWidget(menu);
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(24, 2, 8, 2);
  layout->addWidget(new QLabel(label, row), 1);
  auto* spin = new MenuSpinBox(row);
  spin->setRange(lo, hi);
  spin->setSingleStep(step);
  spin->setValue(value);
  layout->addWidget(spin);
  auto* action = new QWidgetAction(menu);
  action->setDefaultWidget(row);
  menu->addAction(action);
  return spin;
}

}  // namespace

RepresentationsView::RepresentationsView(QWidget* parent) : QWidget(parent) {
  setObjectName("representations");
  job_ = new EmbeddingJob(this);
  connect(job_, &EmbeddingJob::progress, this, [this](int done, int planned) {
    progress_->setRange(0, std::max(1, planned));
    progress_->setValue(done);
  });
  connect(job_, &EmbeddingJob::finished, this, &RepresentationsView::onEmbedded);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  buildControls();
  view_ = new PointCloudView(this);
  layout->addWidget(view_, 1);
  layout->addWidget(footer_);
  connect(view_, &PointCloudView::selectionChanged, this, [this](const QVector<int>& points) {
    QVector<int> rows;
    if (shown_)
      for (int i : points)
        if (i >= 0 && i < shown_->rows) rows << shown_->testRows[static_cast<size_t>(i)];
    emit rowsSelected(rows);
  });
  setStatus("Press Refresh (F5) to embed the hidden states of the held-out rows.");
  restoreSettings();
}

RepresentationsView::~RepresentationsView() { saveSettings(); }

void RepresentationsView::selectRows(const QVector<int>& heldOutRows) {
  if (!shown_ || shown_->rows == 0) {
    emit rowsSelected(heldOutRows);
    return;
  }
  const std::vector<int> rows = sortedUnique({heldOutRows.begin(), heldOutRows.end()});
  std::vector<int> points;
  for (int i = 0; i < shown_->rows; ++i)
    if (std::binary_search(rows.begin(), rows.end(), shown_->testRows[static_cast<size_t>(i)])) points.push_back(i);
  view_->setSelection(std::move(points));
}

// What a user would expect back after a restart: the method and its knobs, the refresh rhythm and
// the view's panel state (colour-by, point size, legend). QSettings as WindowSettings uses it.
void RepresentationsView::saveSettings() const {
  QSettings s("Routelab", "routelab");
  s.beginGroup("representations");
  s.setValue("method", tsne::methodName(method_));
  s.setValue("perplexity", perplexity_);
  s.setValue("iterations", iterations_);
  s.setValue("warmIterations", warmIterations_);
  s.setValue("maxRows", maxRows_);
  s.setValue("autoRefresh", autoBox_->isChecked());
  s.setValue("everySteps", everySpin_->value());
  s.setValue("panel", view_->panelState().toVariantMap());
  s.endGroup();
}

void RepresentationsView::restoreSettings() {
  QSettings s("Routelab", "routelab");
  s.beginGroup("representations");
  for (tsne::Method m : {tsne::Method::Cpu, tsne::Method::Vulkan, tsne::Method::Pca})
    if (s.value("method").toString() == tsne::methodName(m)) setMethod(m);
  perplexity_ = std::clamp(s.value("perplexity", perplexity_).toDouble(), 2.0, 100.0);
  iterations_ = std::clamp(s.value("iterations", iterations_).toInt(), 100, 5000);
  warmIterations_ = std::clamp(s.value("warmIterations", warmIterations_).toInt(), 20, 2000);
  maxRows_ = std::clamp(s.value("maxRows", maxRows_).toInt(), 50, 10000);
  autoBox_->setChecked(s.value("autoRefresh", true).toBool());
  everySpin_->setValue(s.value("everySteps", everySpin_->value()).toInt());
  if (s.contains("panel")) view_->setPanelState(PanelState::fromVariantMap(s.value("panel").toMap()));
  s.endGroup();
  for (QSpinBox* spin : optionsButton_->menu()->findChildren<QSpinBox*>()) {
    QSignalBlocker block(spin);
    const QString name = spin->objectName();
    if (name == "perplexity") spin->setValue(int(perplexity_));
    if (name == "iterations") spin->setValue(iterations_);
    if (name == "warmIterations") spin->setValue(warmIterations_);
    if (name == "maxRows") spin->setValue(maxRows_);
  }
}

void RepresentationsView::buildControls() {
  // A tool bar: on a narrow dock the controls that do not fit move into its overflow menu
  // instead of setting a minimum width for the dock.
  auto* bar = new QToolBar(this);
  bar->setIconSize(QSize(16, 16));
  bar->setStyleSheet("QToolBar { border: none; spacing: 4px; padding: 2px 4px 0 4px; }");
  representation_ = new QComboBox(bar);
  representation_->setToolTip("The hidden states to embed: what a MoE layer receives (input) or produces (output)");
  representation_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  bar->addWidget(representation_);
  connect(representation_, qOverload<int>(&QComboBox::activated), this, [this] { refresh(); });

  refreshButton_ = new QToolButton(bar);
  refreshButton_->setText("Refresh");
  refreshButton_->setToolTip("Embed the current model's hidden states now (F5)");
  connect(refreshButton_, &QToolButton::clicked, this, &RepresentationsView::refresh);
  bar->addWidget(refreshButton_);

  autoBox_ = new QCheckBox("every", bar);
  autoBox_->setChecked(true);
  autoBox_->setToolTip("Refresh while training, every this many steps (warm-started, so clusters glide)");
  bar->addWidget(autoBox_);
  everySpin_ = new QSpinBox(bar);
  everySpin_->setRange(1, 100000);
  everySpin_->setValue(100);
  everySpin_->setToolTip("steps between automatic refreshes");
  everySpin_->setMaximumWidth(everySpin_->fontMetrics().horizontalAdvance("100000") + 30);
  bar->addWidget(everySpin_);

  optionsButton_ = new QToolButton(bar);
  optionsButton_->setToolTip("Method (t-SNE, t-SNE on Vulkan, PCA), perplexity, iterations, rows, export PNG");
  optionsButton_->setText("Options");
  optionsButton_->setPopupMode(QToolButton::InstantPopup);
  auto* menu = new QMenu(optionsButton_);
  auto* methods = new QActionGroup(menu);
  for (tsne::Method m : {tsne::Method::Cpu, tsne::Method::Vulkan, tsne::Method::Pca}) {
    QAction* a = menu->addAction(methodText(m));
    a->setCheckable(true);
    a->setChecked(m == method_);
    a->setObjectName(QString("method-") + tsne::methodName(m));
    methods->addAction(a);
    connect(a, &QAction::triggered, this, [this, m] { setMethod(m); refresh(); });
  }
  menu->addSeparator();
  auto* perplexity = menuSpin(menu, "Perplexity", 2, 100, int(perplexity_));
  perplexity->setObjectName("perplexity");
  connect(perplexity, qOverload<int>(&QSpinBox::valueChanged), this, [this](int v) { perplexity_ = v; });
  auto* iterations = menuSpin(menu, "Iterations (fresh)", 100, 5000, iterations_, 50);
  iterations->setObjectName("iterations");
  connect(iterations, qOverload<int>(&QSpinBox::valueChanged), this, [this](int v) { iterations_ = v; });
  auto* warm = menuSpin(menu, "Iterations (refresh)", 20, 2000, warmIterations_, 10);
  warm->setObjectName("warmIterations");
  connect(warm, qOverload<int>(&QSpinBox::valueChanged), this, [this](int v) { warmIterations_ = v; });
  auto* rows = menuSpin(menu, "Held-out rows (at most)", 50, 10000, maxRows_, 100);
  rows->setObjectName("maxRows");
  connect(rows, qOverload<int>(&QSpinBox::valueChanged), this, [this](int v) { maxRows_ = v; });
  menu->addSeparator();
  menu->addAction("Export PNG…", this, &RepresentationsView::exportDialog);
  optionsButton_->setMenu(menu);
  bar->addWidget(optionsButton_);
  static_cast<QVBoxLayout*>(layout())->addWidget(bar);

  footer_ = new QStackedWidget(this);
  status_ = new QLabel(footer_);
  status_->setContentsMargins(6, 0, 6, 2);
  status_->setStyleSheet("color: #444;");
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  status_->setWordWrap(true);  // a long status must not set the dock's minimum width
  footer_->addWidget(status_);
  auto* running = new QWidget(footer_);
  auto* runningRow = new QHBoxLayout(running);
  runningRow->setContentsMargins(6, 0, 6, 2);
  progress_ = new QProgressBar(running);
  progress_->setTextVisible(true);
  progress_->setFormat("%v / %m iterations");
  runningRow->addWidget(progress_, 1);
  cancelButton_ = new QToolButton(running);
  cancelButton_->setText("Cancel");
  connect(cancelButton_, &QToolButton::clicked, this, &RepresentationsView::cancel);
  runningRow->addWidget(cancelButton_);
  footer_->addWidget(running);
  footer_->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
}

// Each choice's data is kSides * layer + side.
constexpr int kSides = 3;

void RepresentationsView::updateRepresentationChoices(int layers, bool stream) {
  const int sides = stream ? kSides : kSides - 1;  // the stream is the last side
  if (representation_->count() == sides * layers && choicesHaveStream_ == stream) return;
  choicesHaveStream_ = stream;
  const int keep = representation_->currentData().isValid() ? representation_->currentData().toInt() : -1;
  QSignalBlocker block(representation_);
  representation_->clear();
  for (int j = 0; j < layers; ++j)
    for (int s = 0; s < sides; ++s)
      representation_->addItem(representationName(j, static_cast<HiddenSide>(s)), kSides * j + s);
  const int index = representation_->findData(keep);
  representation_->setCurrentIndex(index >= 0 ? index : 0);
  // The tool bar keeps the width a widget had when it was added (empty): size it to its items.
  representation_->setFixedWidth(representation_->sizeHint().width());
}

int RepresentationsView::layer() const { return std::max(0, representation_->currentData().toInt() / kSides); }
int RepresentationsView::side() const { return std::max(0, representation_->currentData().toInt() % kSides); }

void RepresentationsView::setRepresentation(int layer, int side) {
  const int index = representation_->findData(kSides * layer + side);
  if (index >= 0) representation_->setCurrentIndex(index);
}

void RepresentationsView::setMethod(tsne::Method method) {
  method_ = method;
  for (QAction* a : optionsButton_->menu()->actions())
    if (a->objectName() == QString("method-") + tsne::methodName(method)) a->setChecked(true);
}

void RepresentationsView::setAutoRefresh(bool on, int everySteps) {
  autoBox_->setChecked(on);
  everySpin_->setValue(everySteps);
}

bool RepresentationsView::autoRefresh() const { return autoBox_->isChecked(); }

QString RepresentationsView::statusText() const { return status_->text(); }

void RepresentationsView::setStatus(const QString& text) {
  status_->setText(text);
  status_->setToolTip(text);
}

void RepresentationsView::showSnapshot(const RunSnapshot& snapshot) {
  latestStep_ = snapshot.step;
  const int layers = static_cast<int>(snapshot.layers.size());
  const bool stream = snapshot.spec.model.kind == ModelKind::Transformer;
  if (representation_->count() == 0 && layers > 0) {
    updateRepresentationChoices(layers, stream);
    // A MoE layer that reads the raw data (often 2-D) says more through what it produces, when
    // that is a hidden width (a head follows) rather than the model's output.
    const auto& specLayers = snapshot.spec.model.layers;
    if (!specLayers.empty() && specLayers.front().type == LayerType::Moe && snapshot.spec.model.head)
      setRepresentation(0, 1);
  } else {
    updateRepresentationChoices(layers, stream);
  }
  if (layers == 0) {
    setStatus("This model has no MoE layer: nothing to embed.");
    return;
  }
  if (!isVisible() || busy()) return;
  if (!haveCloud_ && requestedStep_ < 0) {
    refresh();  // the first picture comes by itself
  } else if (autoBox_->isChecked() && std::abs(snapshot.step - requestedStep_) >= everySpin_->value() &&
             (!sinceEmbedded_.isValid() || sinceEmbedded_.elapsed() >= autoPauseMs())) {
    refresh();
  }
}

int RepresentationsView::autoPauseMs() const {
  // Automatic refreshes leave the machine to training at least three times as long as the last
  // embedding took (and at least half a second), so on a slow or busy machine they come less often
  // rather than slow training down much.
  return std::max(500, static_cast<int>(3000 * lastEmbedSeconds_));
}

void RepresentationsView::refresh() {
  if (representation_->count() == 0) return;
  dropFetched_ = false;
  if (busy()) {
    refreshQueued_ = true;
    return;
  }
  fetching_ = true;
  requestedStep_ = latestStep_;
  progress_->setRange(0, 0);  // busy indicator until the first iteration reports
  footer_->setCurrentIndex(1);
  emit hiddenStatesRequested(layer(), side(), maxRows_);
}

void RepresentationsView::cancel() {
  refreshQueued_ = false;
  if (embedding_) job_->cancel();
  if (fetching_) dropFetched_ = true;
}

void RepresentationsView::showFailure(const QString& message) {
  fetching_ = false;
  footer_->setCurrentIndex(0);
  setStatus("Cannot read the hidden states: " + message);
  endRefresh(false);
}

void RepresentationsView::endRefresh(bool shown) {
  emit refreshEnded(shown);
  if (refreshQueued_) {
    refreshQueued_ = false;
    refresh();
  }
}

void RepresentationsView::showHiddenStates(HiddenStatesPtr states) {
  fetching_ = false;
  footer_->setCurrentIndex(0);
  if (std::exchange(dropFetched_, false)) {
    setStatus("Cancelled; the picture is unchanged.");
    return endRefresh(false);
  }
  if (!states || states->rows < 2) {
    setStatus("Fewer than two held-out rows: nothing to embed.");
    return endRefresh(false);
  }
  if (states->dim < 2) {
    setStatus(QString("%1 is %2-dimensional: nothing to embed in 2-D; choose another representation.")
                  .arg(representationName(states->layer, states->side))
                  .arg(states->dim));
    return endRefresh(false);
  }
  startEmbedding(std::move(states));
}

void RepresentationsView::startEmbedding(HiddenStatesPtr states) {
  tsne::TsneOptions options;
  options.method = method_;
  // The perplexity needs at least 3 neighbours per unit; small probe sets get a smaller one.
  options.perplexity = std::max(1.0, std::min(perplexity_, (states->rows - 1) / 3.0));
  options.iterations = iterations_;
  options.exaggerationIterations = std::min(options.exaggerationIterations, iterations_ / 3);
  options.reportEvery = 25;
  options.threads = static_cast<unsigned>(std::max(1, QThread::idealThreadCount() - 1));  // one core for training
  std::vector<float> init;
  if (method_ != tsne::Method::Pca && shown_ && sameRows(*shown_, *states) && shownMethod_ != tsne::Method::Pca &&
      shownEmbedding_.size() == static_cast<size_t>(states->rows) * 2) {
    options = tsne::TsneOptions::warmStart(options, warmIterations_);
    init = shownEmbedding_;
  }
  if (!job_->start(states, options, std::move(init))) return endRefresh(false);
  embedding_ = true;
  progress_->setRange(0, method_ == tsne::Method::Pca ? 0 : options.iterations);
  progress_->setValue(0);
  footer_->setCurrentIndex(1);
}

void RepresentationsView::onEmbedded(const EmbeddingResult& r) {
  embedding_ = false;
  sinceEmbedded_.start();
  lastEmbedSeconds_ = r.result.seconds;
  footer_->setCurrentIndex(0);
  const QString what = representationName(r.states->layer, r.states->side);
  if (!r.error.isEmpty()) {
    setStatus(QString("%1 failed: %2").arg(methodText(r.method), r.error));
  } else if (r.result.cancelled) {
    setStatus(QString("%1 of %2 cancelled after %3 iterations; the picture is unchanged.")
                  .arg(methodText(r.method), what)
                  .arg(r.result.iterations));
  } else {
    std::vector<float> embedding = r.result.embedding;
    if (r.method == tsne::Method::Pca && shown_ && sameRows(*shown_, *r.states)) alignSigns(embedding, shownEmbedding_);
    const bool firstOfItsKind = !haveCloud_ || !shown_ || shown_->routing.size() != r.states->routing.size() ||
                                shown_->layer != r.states->layer;
    const QString problem = view_->setPoints(representationCloud(r.states, embedding));
    if (!problem.isEmpty()) {
      setStatus(problem);
    } else {
      if (firstOfItsKind) view_->setColourBy(defaultColourAttribute(*r.states));
      haveCloud_ = true;
      shown_ = r.states;
      shownEmbedding_ = std::move(embedding);
      shownMethod_ = r.method;
      shownStep_ = r.states->step;
      const int T = r.states->sequenceLength;
      const QString rows = T > 0 ? QString("%1 tokens of %2 held-out sequences").arg(r.states->rows).arg(r.states->rows / T)
                                 : QString("%1 held-out rows").arg(r.states->rows);
      QString text = QString("%1 of %2 · %3 (%4-d) · step %5 · %6 s")
                         .arg(methodText(r.method))
                         .arg(rows)
                         .arg(what)
                         .arg(r.states->dim)
                         .arg(r.states->step)
                         .arg(r.result.seconds, 0, 'f', 1);
      if (r.method != tsne::Method::Pca) {
        // Small probe sets get a smaller perplexity than asked for (startEmbedding): say which.
        text += QString(" · perplexity %1").arg(r.perplexity, 0, 'g', 3);
        if (r.perplexity < perplexity_) text += QString(" (of %1: too few rows)").arg(perplexity_, 0, 'g', 3);
        text += QString(" · %1 iterations").arg(r.result.iterations);
      }
      if (r.warmStart) text += " (warm start)";
      setStatus(text);
      emit embeddingShown(shownStep_);
      return endRefresh(true);
    }
  }
  endRefresh(false);
}

QString RepresentationsView::exportPng(const QString& path) { return view_->exportPng(path); }

void RepresentationsView::exportDialog() {
  const QString path = QFileDialog::getSaveFileName(this, "Export the point cloud", "representations.png", "PNG (*.png)");
  if (path.isEmpty()) return;
  if (const QString problem = exportPng(path); !problem.isEmpty()) setStatus(problem);
}

}  // namespace rl::ui
