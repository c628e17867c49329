#include "views/collapse_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QTextDocument>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "views/plot_style.h"

namespace rl::ui {

namespace {

const QColor kEntropyColor(31, 119, 180);
const QColor kMaxShareColor(214, 39, 40);
const QColor kRouterEntropyColor(44, 160, 44);
const QColor kMiColor(148, 103, 189);
const QColor kCvColor(140, 86, 75);
const QColor kDeadColor(90, 90, 90);
const QColor kAlertColor(183, 28, 28);

QVector<double> toQVector(const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); }

QString joinInts(const std::vector<int>& v) {
  QStringList parts;
  for (int x : v) parts << QString::number(x);
  return parts.join(", ");
}

// Dead-expert count at every history point, by the detector's rule (share below
// deadShareTimesE / E for deadWindow recorded steps in a row), measured in steps so a
// decimated history gives the same answer as a dense one.
std::vector<double> deadCounts(const std::vector<double>& steps, const std::vector<float>& load, int experts,
                               const CollapseCriteria& c) {
  std::vector<double> counts(steps.size(), 0.0);
  if (experts <= 0) return counts;
  const double threshold = c.deadShareTimesE / experts;
  std::vector<double> belowSince(size_t(experts), -1.0);
  for (size_t i = 0; i < steps.size(); ++i) {
    const float* l = &load[i * size_t(experts)];
    double total = 0;
    for (int e = 0; e < experts; ++e) total += l[e];
    int dead = 0;
    for (int e = 0; e < experts; ++e) {
      const double share = total > 0 ? l[e] / total : 0.0;
      double& since = belowSince[size_t(e)];
      if (share < threshold) {
        if (since < 0) since = steps[i];
        dead += steps[i] - since + 1 >= c.deadWindow;
      } else {
        since = -1;
      }
    }
    counts[i] = dead;
  }
  return counts;
}

}  // namespace

CollapseView::CollapseView(QWidget* parent) : FigureView(parent) {
  layerBox_ = new QComboBox(this);
  auto* controls = new QHBoxLayout;
  controls->setContentsMargins(6, 2, 6, 0);
  controls->addWidget(new QLabel("MoE layer", this));
  controls->addWidget(layerBox_);
  controls->addStretch(1);
  auto* controlRow = new QWidget(this);
  controlRow->setLayout(controls);
  controlRow->setVisible(false);

  banner_ = new QLabel(this);
  banner_->setWordWrap(true);
  banner_->setTextFormat(Qt::RichText);
  banner_->setContentsMargins(10, 6, 10, 6);
  banner_->setStyleSheet(QString("QLabel { background: %1; color: white; }").arg(kAlertColor.name()));
  banner_->setVisible(false);

  buildPlot();
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(controlRow);
  layout->addWidget(banner_);
  layout->addWidget(plot_, 1);
  connect(layerBox_, qOverload<int>(&QComboBox::activated), this, [this](int i) { setCurrentLayer(i); });
}

QCPGraph* CollapseView::addCurve(QCPAxisRect* rect, const QColor& color, const QString& name, bool right) {
  QCPGraph* g = plot_->addGraph(rect->axis(QCPAxis::atBottom), rect->axis(right ? QCPAxis::atRight : QCPAxis::atLeft));
  g->setPen(QPen(color, 1.6));
  g->setName(name);
  if (name.isEmpty()) g->removeFromLegend();
  return g;
}

bool CollapseView::fitHeading() {
  const int width = plot_->legend->outerRect().width();
  // Not laid out yet: the whole heading, until afterLayout fits it. A short plot keeps one screen
  // line: the verdict when there is one (the dock's title and the layer box already say what and
  // which layer), else the title.
  const QString heading = width <= 0 ? headingFull_
                          : plot_->height() < kCompactPlotHeight
                              ? elideLines(headingFull_.section('\n', -1), heading_->font(), width - 12)
                              : wrapText(headingFull_, heading_->font(), width - 12);
  if (heading == heading_->text()) return false;
  heading_->setText(heading);
  return true;
}

void CollapseView::buildPlot() {
  plot_ = new QCustomPlot(this);
  plot_->setMinimumSize(320, 180);
  plot_->setAutoAddPlottableToLegend(true);
  QCPLayoutGrid* grid = plot_->plotLayout();
  healthRect_ = plot_->axisRect(0);
  heading_ = new QCPTextElement(plot_, title(), plotFont(10));
  deadRect_ = new QCPAxisRect(plot_);
  grid->insertRow(0);
  grid->addElement(0, 0, heading_);
  grid->addElement(2, 0, deadRect_);
  grid->setRowStretchFactor(0, 0.001);
  grid->setRowStretchFactor(1, 3);
  grid->setRowStretchFactor(2, 1);
  grid->setRowSpacing(4);
  auto* margins = new QCPMarginGroup(plot_);
  healthRect_->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  deadRect_->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  stylePlot(*plot_);

  QCPAxis* left = healthRect_->axis(QCPAxis::atLeft);
  QCPAxis* right = healthRect_->axis(QCPAxis::atRight);
  setVerticalAxisLabel(*left, "normalised (0–1)", "0–1");
  left->setRange(0, 1.05);
  right->setVisible(true);
  setVerticalAxisLabel(*right, "coefficient of variation", "CV");
  right->grid()->setVisible(false);
  healthRect_->axis(QCPAxis::atBottom)->setTickLabels(false);
  deadRect_->axis(QCPAxis::atBottom)->setLabel("training step");
  setVerticalAxisLabel(*deadRect_->axis(QCPAxis::atLeft), "dead experts", "dead");
  auto integers = QSharedPointer<QCPAxisTickerFixed>::create();
  integers->setTickStep(1);
  integers->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
  deadRect_->axis(QCPAxis::atLeft)->setTicker(integers);
  deadRect_->axis(QCPAxis::atLeft)->setSubTicks(false);

  const CollapseCriteria criteria;
  // Short legend names; the tooltips (legendTip) say exactly what each curve is.
  entropy_ = addCurve(healthRect_, kEntropyColor, "load entropy");
  maxShare_ = addCurve(healthRect_, kMaxShareColor, "max share");
  routerEntropy_ = addCurve(healthRect_, kRouterEntropyColor, "router entropy");
  mi_ = addCurve(healthRect_, kMiColor, "I(class; expert)");
  mi_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, kMiColor, Qt::white, 5));
  cv_ = addCurve(healthRect_, kCvColor, "CV (right axis)", true);
  cv_->setPen(QPen(kCvColor, 1.4, Qt::DashLine));
  // The detector's thresholds, faint, in the colour of the curve they apply to.
  entropyLimit_ = addCurve(healthRect_, {}, "collapse thresholds");
  entropyLimit_->setPen(QPen(kEntropyColor.lighter(150), 1, Qt::DotLine));
  maxShareLimit_ = addCurve(healthRect_, {}, {});
  maxShareLimit_->setPen(QPen(kMaxShareColor.lighter(150), 1, Qt::DotLine));
  dead_ = addCurve(deadRect_, kDeadColor, {});
  dead_->setLineStyle(QCPGraph::lsStepLeft);
  dead_->setBrush(QColor(90, 90, 90, 40));

  // The legend is a row of its own above the curves, so it never hides one.
  healthRect_->insetLayout()->take(plot_->legend);
  grid->insertRow(1);
  grid->addElement(1, 0, plot_->legend);
  grid->setRowStretchFactor(1, 0.001);
  plot_->legend->setVisible(true);
  plot_->legend->setRowSpacing(0);
  plot_->legend->setColumnSpacing(14);
  plot_->legend->setMargins(QMargins(6, 0, 6, 0));
  plot_->legend->setBorderPen(Qt::NoPen);
  plot_->legend->setBrush(Qt::NoBrush);
  plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
  connect(plot_, &QCustomPlot::afterLayout, this, [this] {
    const bool changed = fitLegendColumns(*plot_->legend, plot_->legend->outerRect().width());
    if (fitHeading() || changed) relayout(*plot_);
  });
  plot_->setMouseTracking(true);
  connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* event) {
    const QString tip = legendTip(legendItemAt(*plot_->legend, event->position()));
    if (tip.isEmpty())
      QToolTip::hideText();
    else
      QToolTip::showText(event->globalPosition().toPoint(), tip, plot_);
  });

  // The step where collapse began: a red line through both plots, labelled at the top.
  const QPen beganPen(kAlertColor, 1.6, Qt::DashLine);
  beganHealth_ = new QCPItemStraightLine(plot_);
  beganDead_ = new QCPItemStraightLine(plot_);
  for (auto [line, rect] : {std::pair{beganHealth_, healthRect_}, std::pair{beganDead_, deadRect_}}) {
    line->setPen(beganPen);
    line->setClipAxisRect(rect);
    for (QCPItemPosition* p : {line->point1, line->point2}) {
      p->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
      p->setAxisRect(rect);
      p->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    line->setVisible(false);
  }
  beganLabel_ = new QCPItemText(plot_);
  beganLabel_->setClipAxisRect(healthRect_);
  beganLabel_->position->setAxes(healthRect_->axis(QCPAxis::atBottom), healthRect_->axis(QCPAxis::atLeft));
  beganLabel_->position->setAxisRect(healthRect_);
  beganLabel_->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
  beganLabel_->setFont(plotFont(8));
  beganLabel_->setColor(kAlertColor);
  beganLabel_->setBrush(QColor(255, 255, 255, 220));
  beganLabel_->setPadding(QMargins(3, 1, 3, 1));
  beganLabel_->setVisible(false);

  deadLabel_ = new QCPItemText(plot_);
  deadLabel_->setClipAxisRect(deadRect_);
  deadLabel_->position->setType(QCPItemPosition::ptAxisRectRatio);
  deadLabel_->position->setAxisRect(deadRect_);
  deadLabel_->position->setCoords(0.01, 0.06);
  deadLabel_->setPositionAlignment(Qt::AlignTop | Qt::AlignLeft);
  deadLabel_->setFont(plotFont(8));
  deadLabel_->setBrush(QColor(255, 255, 255, 220));
  deadLabel_->setPadding(QMargins(3, 1, 3, 1));
}

void CollapseView::showSnapshot(const RunSnapshot& snapshot) {
  const CollapseCriteria criteria;
  // A Transformer's held-out routing is counted per token by its task or language.
  mi_->setName(QString("I(%1; expert)").arg(QString::fromStdString(snapshot.groupKind)));
  const int layerCount = int(snapshot.layers.size());
  layers_.resize(size_t(layerCount));
  std::vector<float> load;
  for (int l = 0; l < layerCount; ++l) {
    LayerData& d = layers_[size_t(l)];
    d = LayerData{};
    d.experts = snapshot.layers[size_t(l)].experts;
    const int E = d.experts;
    const double lnE = E > 1 ? std::log(double(E)) : 1.0;
    load.clear();
    for (const HistoryPoint& h : snapshot.history) {
      if (size_t(l) >= h.layers.size() || int(h.layers[size_t(l)].load.size()) != E) continue;
      const HistoryPoint::Layer& hl = h.layers[size_t(l)];
      d.steps.push_back(h.step);
      d.entropy.push_back(hl.loadEntropy);
      d.cv.push_back(hl.cv);
      d.maxShare.push_back(hl.maxShare);
      d.routerEntropy.push_back(hl.routerEntropy / lnE);
      if (std::isfinite(hl.mutualInformation)) d.miSteps.push_back(h.step), d.mi.push_back(hl.mutualInformation);
      load.insert(load.end(), hl.load.begin(), hl.load.end());
    }
    d.dead = deadCounts(d.steps, load, E, criteria);
    if (size_t(l) < snapshot.collapse.size()) d.verdict = snapshot.collapse[size_t(l)];
  }
  step_ = snapshot.step;
  if (layer_ >= layerCount) layer_ = std::max(0, layerCount - 1);
  updateLayerSelector();
  redraw();
}

void CollapseView::updateLayerSelector() {
  if (layerBox_->count() != layerCount()) {
    layerBox_->clear();
    for (int l = 0; l < layerCount(); ++l) layerBox_->addItem(QString("%1").arg(l + 1));
  }
  for (int l = 0; l < layerCount(); ++l) {
    const bool collapsed = layers_[size_t(l)].verdict.collapsed;
    layerBox_->setItemText(l, QString("%1%2").arg(l + 1).arg(collapsed ? " · collapsed" : ""));
  }
  layerBox_->setCurrentIndex(layer_);
  layerBox_->parentWidget()->setVisible(layerCount() > 1);
}

void CollapseView::setCurrentLayer(int layer) {
  if (layer < 0 || layer >= layerCount()) return;
  layer_ = layer;
  layerBox_->setCurrentIndex(layer);
  redraw();
}

void CollapseView::redraw() {
  static const LayerData empty;
  const LayerData& d = layers_.empty() ? empty : layers_[size_t(layer_)];
  const QVector<double> steps = toQVector(d.steps);
  entropy_->setData(steps, toQVector(d.entropy), true);
  maxShare_->setData(steps, toQVector(d.maxShare), true);
  routerEntropy_->setData(steps, toQVector(d.routerEntropy), true);
  cv_->setData(steps, toQVector(d.cv), true);
  mi_->setData(toQVector(d.miSteps), toQVector(d.mi), true);
  dead_->setData(steps, toQVector(d.dead), true);

  const double x0 = steps.isEmpty() ? 0 : steps.front();
  const double x1 = steps.isEmpty() ? 1 : std::max(steps.back(), x0 + 1);
  const CollapseCriteria criteria;
  entropyLimit_->setData({x0, x1}, {criteria.entropyBelow, criteria.entropyBelow}, true);
  maxShareLimit_->setData({x0, x1}, {criteria.maxShareAbove, criteria.maxShareAbove}, true);
  for (QCPAxisRect* r : {healthRect_, deadRect_}) r->axis(QCPAxis::atBottom)->setRange(x0, x1);
  const double cvTop = d.cv.empty() ? 1.0 : *std::max_element(d.cv.begin(), d.cv.end());
  healthRect_->axis(QCPAxis::atRight)->setRange(0, std::max(1.0, cvTop) * 1.05);
  deadRect_->axis(QCPAxis::atLeft)->setRange(0, std::max(1, d.experts) + 0.5);
  if (d.experts > 12)
    qSharedPointerCast<QCPAxisTickerFixed>(deadRect_->axis(QCPAxis::atLeft)->ticker())->setTickStep(d.experts > 40 ? 10 : 4);

  const bool collapsed = d.verdict.collapsed && d.verdict.beganAtStep >= 0;
  for (QCPItemStraightLine* line : {beganHealth_, beganDead_}) {
    line->setVisible(collapsed);
    line->point1->setCoords(d.verdict.beganAtStep, 0);
    line->point2->setCoords(d.verdict.beganAtStep, 1);
  }
  beganLabel_->setVisible(collapsed);
  if (collapsed) {
    beganLabel_->setText(QString("collapse began · step %1").arg(d.verdict.beganAtStep));
    const bool leftHalf = d.verdict.beganAtStep < (x0 + x1) / 2;
    beganLabel_->position->setCoords(d.verdict.beganAtStep, 0.02);
    beganLabel_->setPositionAlignment(Qt::AlignTop | (leftHalf ? Qt::AlignLeft : Qt::AlignRight));
  }
  const std::vector<int>& deadNow = d.verdict.deadExperts;
  deadLabel_->setText(deadNow.empty() ? QString("no dead experts")
                                      : QString("dead now (%1 of %2): %3").arg(deadNow.size()).arg(d.experts).arg(joinInts(deadNow)));
  deadLabel_->setColor(deadNow.empty() ? QColor(60, 120, 60) : kAlertColor);

  QString heading = QString("Collapse indicators · step %1").arg(step_);
  if (layerCount() > 1) heading += QString(" · layer %1").arg(layer_ + 1);
  if (!collapsed && !d.verdict.reason.empty()) heading += "\n" + QString::fromStdString(d.verdict.reason);
  headingFull_ = heading;
  fitHeading();  // to the size of the last layout; afterLayout fits again if it changed
  updateBanner(d);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void CollapseView::updateBanner(const LayerData& d) {
  const bool collapsed = d.verdict.collapsed;
  if (collapsed) {
    QString headline = QString("⚠ Routing collapsed");
    if (layerCount() > 1) headline += QString(" in layer %1").arg(layer_ + 1);
    if (d.verdict.beganAtStep >= 0) headline += QString(" since step %1").arg(d.verdict.beganAtStep);
    const std::vector<int>& dead = d.verdict.deadExperts;
    if (!dead.empty()) headline += QString(" · %1 of %2 experts dead").arg(dead.size()).arg(d.experts);
    const QString text = QString("<b>%1</b><br><span style='font-size:small'>%2</span>")
                             .arg(headline.toHtmlEscaped(), QString::fromStdString(d.verdict.reason).toHtmlEscaped());
    if (banner_->text() != text) banner_->setText(text);
  }
  banner_->setVisible(collapsed);
}

void CollapseView::paintFigure(QPainter& painter, const QSize& size) {
  // The banner is part of the figure: painted above the plot (QLabel paints vector text).
  int top = 0;
  if (alertVisible()) {
    const QRect onScreen = banner_->geometry();
    const int h = banner_->heightForWidth(size.width());
    banner_->resize(size.width(), h);
    painter.save();
    banner_->render(&painter, QPoint(0, 0), QRegion(), QWidget::DrawWindowBackground | QWidget::DrawChildren);
    painter.restore();
    banner_->setGeometry(onScreen);
    top = h;
  }
  paintPlotVector(painter, *plot_, QRect(0, top, size.width(), size.height() - top));
}

QString CollapseView::legendTip(int item) const {
  auto* entry = item >= 0 ? qobject_cast<QCPPlottableLegendItem*>(plot_->legend->item(item)) : nullptr;
  if (!entry) return {};
  const CollapseCriteria c;
  const QCPAbstractPlottable* p = entry->plottable();
  if (p == entropy_) return "Entropy of the load over experts / ln E: 1 = perfectly balanced, 0 = one expert takes everything.";
  if (p == maxShare_) return "The largest share of routing choices any single expert receives.";
  if (p == routerEntropy_) return "Mean entropy of each row's gate distribution / ln E: low = confident routing.";
  if (p == mi_) return "Mutual information between true class and chosen expert / H(class), on held-out evaluations: "
                       "high = experts specialise by class.";
  if (p == cv_) return "Coefficient of variation of the load (std / mean), on the right axis: 0 = balanced.";
  if (p == entropyLimit_)
    return QString("The collapse detector fires when load entropy stays below %1 or max share above %2 "
                   "(dotted lines in the curves' colours).").arg(c.entropyBelow).arg(c.maxShareAbove);
  return {};
}

QRect CollapseView::legendRect() const { return plot_->legend->outerRect(); }
QRect CollapseView::curvesRect() const { return healthRect_->outerRect(); }

bool CollapseView::alertVisible() const { return !banner_->isHidden(); }
QString CollapseView::alertText() const {
  if (!alertVisible()) return {};
  QTextDocument doc;
  doc.setHtml(banner_->text());
  return doc.toPlainText();
}
int CollapseView::seriesPointCount() const { return entropy_->dataCount(); }
int CollapseView::mutualInformationPointCount() const { return mi_->dataCount(); }
int CollapseView::deadExpertCount() const {
  return dead_->dataCount() == 0 ? 0 : int((dead_->data()->constEnd() - 1)->value);
}
std::vector<int> CollapseView::deadExperts() const {
  return layers_.empty() ? std::vector<int>{} : layers_[size_t(layer_)].verdict.deadExperts;
}
bool CollapseView::collapseMarkerVisible() const { return beganHealth_->visible(); }
int CollapseView::collapseMarkerStep() const {
  return collapseMarkerVisible() ? int(std::lround(beganHealth_->point1->key())) : -1;
}

}  // namespace rl::ui
