#include "views/load_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "views/plot_style.h"

namespace rl::ui {

namespace {

// The stacked area never needs more points than a plot is wide; longer histories are averaged
// into this many bins (averaging keeps the area honest where striding would alias).
constexpr int kMaxStackPoints = 600;
const QColor kUniformColor(60, 60, 60);
const QColor kCapacityColor(200, 30, 30);

QString routerName(const RunSnapshot::LayerInfo& l) {
  if (l.tokenRouter == "token_choice") return QString("token choice top-%1").arg(l.k);
  if (!l.tokenRouter.empty()) return QString::fromStdString(l.tokenRouter).replace('_', ' ');
  switch (l.router) {
    case RouterType::Dense: return "dense softmax";
    case RouterType::TopK: return QString("top-%1").arg(l.k);
    case RouterType::NoisyTopK: return QString("noisy top-%1").arg(l.k);
    case RouterType::Switch: return "Switch top-1";
  }
  return {};
}

// False when the spec's `moeLayer`-th MoE layer has no capacity limit (capacity factor ≤ 0). A
// snapshot without that layer in its spec (e.g. a hand-made one) defers to LayerInfo::capacity.
bool capacityLimited(const Spec& spec, int moeLayer) {
  int seen = 0;
  for (const LayerSpec& layer : spec.model.layers) {
    if (layer.type != LayerType::Moe) continue;
    if (seen++ == moeLayer) return layer.router.capacityFactor > 0;
  }
  return true;
}

QString percent(double fraction, int decimals = 1) { return QString::number(100.0 * fraction, 'f', decimals) + " %"; }

QColor faded(QColor c, int alpha) {
  c.setAlpha(alpha);
  return c;
}

}  // namespace

LoadView::LoadView(QWidget* parent) : FigureView(parent) {
  layerBox_ = new QComboBox(this);
  layerBox_->setToolTip("MoE layer to show");
  auto* controls = new QHBoxLayout;
  controls->setContentsMargins(6, 2, 6, 0);
  controls->addWidget(new QLabel("MoE layer", this));
  controls->addWidget(layerBox_);
  controls->addStretch(1);
  auto* controlRow = new QWidget(this);
  controlRow->setLayout(controls);
  controlRow->setVisible(false);  // shown with two or more MoE layers

  buildPlot();
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(controlRow);
  layout->addWidget(plot_, 1);
  connect(layerBox_, qOverload<int>(&QComboBox::activated), this, [this](int i) { setCurrentLayer(i); });
}

void LoadView::buildPlot() {
  plot_ = new QCustomPlot(this);
  plot_->setMinimumSize(320, 180);
  plot_->setAutoAddPlottableToLegend(false);

  QCPLayoutGrid* grid = plot_->plotLayout();
  barRect_ = plot_->axisRect(0);
  grid->take(barRect_);
  grid->simplify();
  heading_ = new QCPTextElement(plot_, title(), plotFont(10));
  note_ = new QCPTextElement(plot_, QString(), plotFont(8));
  note_->setTextColor(QColor(80, 80, 80));
  stackRect_ = new QCPAxisRect(plot_);
  // A legend row between the heading and the bars, so it never hides a bar: short names on as
  // few rows as the width allows (tooltips and the note line carry the details).
  barRect_->insetLayout()->take(plot_->legend);
  plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
  plot_->legend->setColumnSpacing(14);
  plot_->legend->setMargins(QMargins(6, 0, 6, 0));
  plot_->legend->setVisible(true);
  grid->addElement(0, 0, heading_);
  grid->addElement(1, 0, note_);
  grid->addElement(2, 0, plot_->legend);
  grid->addElement(3, 0, barRect_);
  grid->addElement(4, 0, stackRect_);
  grid->setRowSpacing(2);
  grid->setRowStretchFactor(0, 0.001);
  grid->setRowStretchFactor(1, 0.001);
  grid->setRowStretchFactor(2, 0.001);
  grid->setRowStretchFactor(3, 3);
  grid->setRowStretchFactor(4, 1.7);
  auto* margins = new QCPMarginGroup(plot_);
  barRect_->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  stackRect_->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  stylePlot(*plot_);
  plot_->legend->setBorderPen(Qt::NoPen);

  QCPAxis* expertAxis = barRect_->axis(QCPAxis::atBottom);
  expertAxis->setLabel("expert");
  auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
  ticker->setTickStep(1);
  ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
  expertAxis->setTicker(ticker);
  expertAxis->setSubTicks(false);
  expertAxis->grid()->setVisible(false);
  setVerticalAxisLabel(*barRect_->axis(QCPAxis::atLeft), "share (%)", "%");
  stackRect_->axis(QCPAxis::atBottom)->setLabel("training step");
  stackRect_->axis(QCPAxis::atLeft)->setRange(0, 100);

  QCPAxis* key = barRect_->axis(QCPAxis::atBottom);
  QCPAxis* value = barRect_->axis(QCPAxis::atLeft);
  loadLegend_ = new QCPBars(key, value);
  importanceLegend_ = new QCPBars(key, value);
  uniformLine_ = plot_->addGraph(key, value);
  uniformLine_->setPen(QPen(kUniformColor, 1.2, Qt::DashLine));
  capacityLine_ = plot_->addGraph(key, value);
  capacityLine_->setPen(QPen(kCapacityColor, 1.6, Qt::DashDotLine));
  for (QCPAbstractPlottable* p : std::initializer_list<QCPAbstractPlottable*>{loadLegend_, importanceLegend_, uniformLine_, capacityLine_})
    p->addToLegend();
  // Reference lines on a layer of their own, in front of bars created later.
  plot_->addLayer("references", plot_->layer("main"), QCustomPlot::limAbove);
  uniformLine_->setLayer("references");
  capacityLine_->setLayer("references");

  // Legend columns and text lines follow the width (also an export's): lay out again if they change.
  connect(plot_, &QCustomPlot::afterLayout, this, [this] {
    const bool changed = fitLegendColumns(*plot_->legend, plot_->legend->outerRect().width());
    if (fitTexts() || changed) relayout(*plot_);
  });
  plot_->setMouseTracking(true);
  connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    const int item = legendItemAt(*plot_->legend, event->position());
    auto* entry = item >= 0 ? qobject_cast<QCPPlottableLegendItem*>(plot_->legend->item(item)) : nullptr;
    const QString tip = !entry                                    ? QString()
                        : entry->plottable() == loadLegend_       ? QString("Load: the share of the batch's routing choices (rows × k) sent to each expert, before capacity drops. Left bar of each pair.")
                        : entry->plottable() == importanceLegend_ ? QString("Importance: each expert's mean gate probability over the batch. Right bar of each pair.")
                        : entry->plottable() == uniformLine_      ? QString("The share every expert would get under perfectly balanced routing (1/E).")
                        : entry->plottable() == capacityLine_     ? QString("Capacity: the most routing choices an expert accepts per batch, as a share of all choices; choices beyond it are dropped.")
                                                                  : QString();
    if (tip.isEmpty())
      QToolTip::hideText();
    else
      QToolTip::showText(event->globalPosition().toPoint(), tip, plot_);
  });
}

void LoadView::ensureExperts(int experts) {
  if (int(loadBars_.size()) == experts) return;
  for (QCPBars* b : loadBars_) plot_->removePlottable(b);
  for (QCPBars* b : importanceBars_) plot_->removePlottable(b);
  for (QCPGraph* g : stack_) plot_->removeGraph(g);
  loadBars_.clear(), importanceBars_.clear(), stack_.clear();
  QCPAxis* key = barRect_->axis(QCPAxis::atBottom);
  QCPAxis* value = barRect_->axis(QCPAxis::atLeft);
  for (int e = 0; e < experts; ++e) {
    auto* load = new QCPBars(key, value);
    auto* importance = new QCPBars(key, value);
    load->setWidth(0.4);
    importance->setWidth(0.4);
    loadBars_.push_back(load);
    importanceBars_.push_back(importance);
    // Stack: graph e is the running total of experts 0..e, filled down to graph e-1.
    QCPGraph* g = plot_->addGraph(stackRect_->axis(QCPAxis::atBottom), stackRect_->axis(QCPAxis::atLeft));
    g->setPen(QPen(expertColor(e).darker(115), 0.8));
    g->setBrush(faded(expertColor(e), 215));
    if (e > 0) g->setChannelFillGraph(stack_.back());
    g->setAdaptiveSampling(false);  // channel fills need every point of both edges
    stack_.push_back(g);
  }
  const int step = experts > 32 ? 4 : experts > 16 ? 2 : 1;
  qSharedPointerCast<QCPAxisTickerFixed>(barRect_->axis(QCPAxis::atBottom)->ticker())->setTickStep(step);
}

void LoadView::showSnapshot(const RunSnapshot& snapshot) {
  const int layerCount = int(snapshot.layers.size());
  layers_.resize(size_t(layerCount));
  for (int l = 0; l < layerCount; ++l) {
    LayerData& d = layers_[size_t(l)];
    d.info = snapshot.layers[size_t(l)];
    d.routerName = routerName(d.info);
    const int E = d.info.experts;
    d.steps.clear(), d.load.clear(), d.importance.clear();
    d.steps.reserve(snapshot.history.size());
    d.load.reserve(snapshot.history.size() * size_t(E));
    d.importance.reserve(snapshot.history.size() * size_t(E));
    for (const HistoryPoint& h : snapshot.history) {
      if (size_t(l) >= h.layers.size()) continue;
      const HistoryPoint::Layer& hl = h.layers[size_t(l)];
      if (int(hl.load.size()) != E || int(hl.importance.size()) != E) continue;  // before an edit
      d.steps.push_back(h.step);
      d.load.insert(d.load.end(), hl.load.begin(), hl.load.end());
      d.importance.insert(d.importance.end(), hl.importance.begin(), hl.importance.end());
    }
    // The latest step's bars: from StepMetrics when it has this layer, else the last history point.
    if (size_t(l) < snapshot.latest.moe.size() && int(snapshot.latest.moe[size_t(l)].load.size()) == E) {
      const MoeMetrics& m = snapshot.latest.moe[size_t(l)];
      d.latestLoad = m.load, d.latestImportance = m.importance, d.latestDropped = m.dropped;
    } else if (!snapshot.history.empty() && size_t(l) < snapshot.history.back().layers.size()) {
      const HistoryPoint::Layer& hl = snapshot.history.back().layers[size_t(l)];
      d.latestLoad = hl.load, d.latestImportance = hl.importance, d.latestDropped = hl.dropped;
    } else {
      d.latestLoad.clear(), d.latestImportance.clear(), d.latestDropped = 0;
    }
    // Capacity is per expert; load is a share of the batch's rows × k routing choices. Without a
    // limit (capacity factor ≤ 0) the engine sizes its slots to the whole batch, which is no
    // limit at all, and dense routers never drop: both show no capacity line.
    if (!capacityLimited(snapshot.spec, l) || d.info.router == RouterType::Dense) d.info.capacity = 0;
    // A Transformer routes every token of the batch's sequences.
    const int rows = snapshot.spec.train.batchSize * (snapshot.spec.model.kind == ModelKind::Transformer
                                                          ? snapshot.spec.model.transformer.sequenceLength
                                                          : 1);
    const int choices = rows * std::max(1, d.info.k);
    d.capacityShare = (d.info.capacity > 0 && choices > 0) ? double(d.info.capacity) / choices : 0.0;
    // Expert choice: every expert takes exactly C tokens, so its load is 1/E by construction and a
    // capacity line (a share of rows × E choice columns) would only mislead; the note says it.
    if (d.info.tokenRouter == "expert_choice") d.capacityShare = 0;
  }
  step_ = snapshot.latest.step > 0 ? snapshot.latest.step : snapshot.step;
  if (layer_ >= layerCount) layer_ = std::max(0, layerCount - 1);
  updateLayerSelector();
  redraw();
}

void LoadView::updateLayerSelector() {
  QWidget* row = layerBox_->parentWidget();
  if (layerBox_->count() != layerCount()) {
    layerBox_->clear();
    for (int l = 0; l < layerCount(); ++l) layerBox_->addItem(QString::number(l + 1));
  }
  for (int l = 0; l < layerCount(); ++l) {
    const LayerData& d = layers_[size_t(l)];
    layerBox_->setItemText(l, QString("%1 · %2, %3 experts").arg(l + 1).arg(d.routerName).arg(d.info.experts));
  }
  layerBox_->setCurrentIndex(layer_);
  row->setVisible(layerCount() > 1);
}

void LoadView::setCurrentLayer(int layer) {
  if (layer < 0 || layer >= layerCount()) return;
  layer_ = layer;
  layerBox_->setCurrentIndex(layer);
  redraw();
}

void LoadView::redraw() {
  if (layers_.empty()) {
    ensureExperts(0);
    setTexts("Expert load · no MoE layer", "This model has no MoE layer, so there is no routing to show.");
    uniformLine_->data()->clear();
    capacityLine_->data()->clear();
    plot_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  const LayerData& d = layers_[size_t(layer_)];
  ensureExperts(d.info.experts);
  drawBars(d);
  drawStack(d);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void LoadView::drawBars(const LayerData& d) {
  const int E = d.info.experts;
  const bool dense = d.info.router == RouterType::Dense;
  const bool hasLatest = int(d.latestLoad.size()) == E && int(d.latestImportance.size()) == E;

  // Dense routing: load is uniform by construction, so importance carries the colour.
  const int loadAlpha = dense ? 45 : 255, importanceAlpha = dense ? 255 : 90;
  if (denseStyle_ != dense || loadLegend_->name().isEmpty()) {
    denseStyle_ = dense;
    for (int e = 0; e < E; ++e) {
      const QColor c = expertColor(e);
      loadBars_[size_t(e)]->setBrush(faded(c, loadAlpha));
      loadBars_[size_t(e)]->setPen(dense ? QPen(faded(c, 90)) : QPen(c.darker(130)));
      importanceBars_[size_t(e)]->setBrush(faded(c, importanceAlpha));
      importanceBars_[size_t(e)]->setPen(QPen(c.darker(dense ? 130 : 110), dense ? 1 : 1.3));
    }
    const QColor g(120, 120, 120);
    loadLegend_->setBrush(faded(g, loadAlpha));
    loadLegend_->setPen(QPen(dense ? faded(g, 90) : g.darker(130)));
    importanceLegend_->setBrush(faded(g, importanceAlpha));
    importanceLegend_->setPen(QPen(g.darker(110), 1.3));
    loadLegend_->setName(dense ? "load (uniform: dense)" : "load (left bar)");
    importanceLegend_->setName("importance (right bar)");
  }

  double top = 0;
  for (int e = 0; e < E; ++e) {
    const double load = hasLatest ? 100.0 * d.latestLoad[size_t(e)] : 0.0;
    const double importance = hasLatest ? 100.0 * d.latestImportance[size_t(e)] : 0.0;
    loadBars_[size_t(e)]->setData(QVector<double>{e - 0.21}, QVector<double>{load}, true);
    importanceBars_[size_t(e)]->setData(QVector<double>{e + 0.21}, QVector<double>{importance}, true);
    top = std::max({top, load, importance});
  }

  const double uniform = E > 0 ? 1.0 / E : 0.0;
  uniformLine_->setData(QVector<double>{-0.5, E - 0.5}, QVector<double>{100 * uniform, 100 * uniform}, true);
  uniformLine_->setName(QString("uniform %1").arg(percent(uniform)));
  top = std::max(top, 100 * uniform);
  const bool capped = d.capacityShare > 0;
  if (capped) {
    capacityLine_->setData(QVector<double>{-0.5, E - 0.5},
                           QVector<double>{100 * d.capacityShare, 100 * d.capacityShare}, true);
    capacityLine_->setName(QString("capacity %1").arg(percent(d.capacityShare)));
    capacityLine_->addToLegend();
    // A capacity far above every bar would flatten them; it is then named but off the chart.
    if (d.capacityShare * 100 < 2.5 * std::max(top, 1e-9)) top = std::max(top, 100 * d.capacityShare);
  } else {
    capacityLine_->data()->clear();
    capacityLine_->removeFromLegend();
  }
  barRect_->axis(QCPAxis::atBottom)->setRange(-0.6, E - 0.4);
  barRect_->axis(QCPAxis::atLeft)->setRange(0, std::max(top * 1.12, 1.0));

  const QString heading = QString("Expert load · step %1 · layer %2: %3 over %4 experts")
                              .arg(step_).arg(layer_ + 1).arg(d.routerName).arg(E);
  QString note;
  if (dense) {
    note = "Dense router: every expert sees every input, so load is uniform by construction; "
           "importance (mean gate probability) shows the routing.";
  } else if (d.info.tokenRouter == "expert_choice") {
    note = QString("Expert choice: each expert takes exactly %1 tokens of the batch, so load is level by construction · "
                   "tokens no expert took %2")
               .arg(d.info.capacity).arg(percent(d.latestDropped, 2));
  } else if (capped) {
    note = QString("Capacity %1 slots per expert = %2 of routing choices (rows × k) · dropped %3")
               .arg(d.info.capacity).arg(percent(d.capacityShare)).arg(percent(d.latestDropped, 2));
  } else if (d.latestDropped > 0) {
    note = QString("No capacity limit · dropped %1 of routing choices").arg(percent(d.latestDropped, 2));
  } else {
    note = "No capacity limit: every routing choice is kept (nothing dropped)";
  }
  setTexts(heading, note);
}

void LoadView::setTexts(const QString& heading, const QString& note) {
  headingFull_ = heading, noteFull_ = note;
  fitTexts();  // to the width and height of the last layout; afterLayout fits again if they changed
}

bool LoadView::fitTexts() {
  // Before the first layout: unwrapped, until afterLayout fits them. A short plot keeps the
  // heading to a line and leaves the note out.
  const bool laidOut = plot_->legend->outerRect().width() > 0;
  const int width = (laidOut ? plot_->legend->outerRect().width() : 10000) - 12;
  const bool compact = laidOut && plot_->height() < kCompactPlotHeight;
  const QString heading = compact ? elideLines(headingFull_, heading_->font(), width) : wrapText(headingFull_, heading_->font(), width);
  const QString note = compact ? QString() : wrapText(noteFull_, note_->font(), width);
  bool changed = false;
  for (auto [element, text] : {std::pair{heading_, heading}, std::pair{note_, note}})
    if (text != element->text()) element->setText(text), changed = true;
  return changed;
}

void LoadView::drawStack(const LayerData& d) {
  const int E = d.info.experts;
  const int n = int(d.steps.size());
  const bool dense = d.info.router == RouterType::Dense;
  const std::vector<float>& source = dense ? d.importance : d.load;
  // Average consecutive points into at most kMaxStackPoints bins.
  const int bins = std::min(n, kMaxStackPoints);
  QVector<double> keys(bins);
  std::vector<double> shares(size_t(bins) * size_t(E), 0.0);
  for (int b = 0; b < bins; ++b) {
    const int i0 = int(int64_t(b) * n / bins), i1 = int(int64_t(b + 1) * n / bins);
    double stepSum = 0;
    for (int i = i0; i < i1; ++i) {
      stepSum += d.steps[size_t(i)];
      for (int e = 0; e < E; ++e) shares[size_t(b) * E + e] += source[size_t(i) * E + e];
    }
    const double count = std::max(1, i1 - i0);
    keys[b] = stepSum / count;
    // Normalise each bin to 100 %: the area shows how the choices split, whatever k is.
    double total = 0;
    for (int e = 0; e < E; ++e) total += shares[size_t(b) * E + e];
    for (int e = 0; e < E; ++e) shares[size_t(b) * E + e] = total > 0 ? 100.0 * shares[size_t(b) * E + e] / total : 0;
  }
  QVector<double> running(bins, 0.0);
  for (int e = 0; e < E; ++e) {
    for (int b = 0; b < bins; ++b) running[b] += shares[size_t(b) * E + e];
    stack_[size_t(e)]->setData(keys, running, true);
  }
  const double x0 = bins > 0 ? keys.front() : 0, x1 = bins > 0 ? std::max(keys.back(), x0 + 1) : 1;
  stackRect_->axis(QCPAxis::atBottom)->setRange(x0, x1);
  if (dense) setVerticalAxisLabel(*stackRect_->axis(QCPAxis::atLeft), "importance, stacked (%)", "importance %");
  else setVerticalAxisLabel(*stackRect_->axis(QCPAxis::atLeft), "load, stacked (%)", "load");
}

void LoadView::paintFigure(QPainter& painter, const QSize& size) {
  paintPlotVector(painter, *plot_, QRect(QPoint(0, 0), size));
}

int LoadView::barCount() const {
  int n = 0;
  for (QCPBars* b : loadBars_) n += b->dataCount() > 0;
  return n;
}

double LoadView::loadBar(int expert) const {
  if (expert < 0 || expert >= int(loadBars_.size()) || loadBars_[size_t(expert)]->dataCount() == 0) return std::nan("");
  return loadBars_[size_t(expert)]->data()->constBegin()->value / 100.0;
}

double LoadView::importanceBar(int expert) const {
  if (expert < 0 || expert >= int(importanceBars_.size()) || importanceBars_[size_t(expert)]->dataCount() == 0)
    return std::nan("");
  return importanceBars_[size_t(expert)]->data()->constBegin()->value / 100.0;
}

double LoadView::uniformShare() const {
  return layers_.empty() || layers_[size_t(layer_)].info.experts <= 0 ? 0.0 : 1.0 / layers_[size_t(layer_)].info.experts;
}
bool LoadView::capacityLineVisible() const { return capacityLine_->dataCount() > 0; }
double LoadView::capacityShare() const { return layers_.empty() ? 0.0 : layers_[size_t(layer_)].capacityShare; }
double LoadView::droppedFraction() const { return layers_.empty() ? 0.0 : layers_[size_t(layer_)].latestDropped; }
bool LoadView::uniformByConstruction() const {
  return !layers_.empty() && layers_[size_t(layer_)].info.router == RouterType::Dense;
}
int LoadView::stackedPointCount() const { return stack_.empty() ? 0 : stack_.front()->dataCount(); }
QRect LoadView::legendRect() const { return plot_->legend->outerRect(); }
QRect LoadView::barRectArea() const { return barRect_->outerRect(); }
QString LoadView::headingText() const { return headingFull_ + "\n" + noteFull_; }

}  // namespace rl::ui
