#include "views/loss_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>
#include <qcustomplot.h>

#include "views/plot_style.h"

namespace rl::ui {

namespace {

const QColor kTrainColor(31, 119, 180);
const QColor kEvalColor(230, 110, 0);
const QColor kSnapshotColor(110, 110, 110);

// Comparison runs are drawn in muted colours of their own, so they never read as the live run.
QColor comparisonColor(int run) {
  static const QColor colors[] = {QColor(148, 103, 189), QColor(140, 86, 75), QColor(100, 100, 100),
                                  QColor(188, 150, 34), QColor(23, 160, 180)};
  return colors[run % 5];
}

// EMA with a time constant in steps: each point pulls the average by 1 - exp(-Δstep / tau), so
// the smoothing means the same on decimated (unevenly spaced) histories as on dense ones.
QVector<double> smoothEma(const QVector<double>& steps, const QVector<double>& values, double tau) {
  if (tau <= 0 || values.isEmpty()) return values;
  QVector<double> out(values.size());
  double avg = values[0];
  out[0] = avg;
  for (int i = 1; i < values.size(); ++i) {
    const double pull = 1.0 - std::exp(-(steps[i] - steps[i - 1]) / tau);
    avg += pull * (values[i] - avg);
    out[i] = avg;
  }
  return out;
}

void appendFinite(QVector<double>& steps, QVector<double>& values, int step, double v) {
  if (!std::isfinite(v)) return;
  steps.push_back(step);
  values.push_back(v);
}

// Nearest recorded step to `step` in a sorted list of steps; -1 when the list is empty.
int nearestStep(const QVector<double>& steps, double step) {
  if (steps.isEmpty()) return -1;
  auto it = std::lower_bound(steps.begin(), steps.end(), step);
  if (it == steps.end()) return int(steps.back());
  if (it == steps.begin()) return int(*it);
  return (step - *(it - 1) <= *it - step) ? int(*(it - 1)) : int(*it);
}

struct Bounds {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(const QVector<double>& v) {
    for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x);
  }
  bool valid() const { return lo <= hi; }
};

}  // namespace

LossView::LossView(QWidget* parent) : FigureView(parent) {
  smoothing_ = new QSpinBox(this);
  smoothing_->setRange(0, 2000);
  smoothing_->setValue(20);
  smoothing_->setSuffix(" steps");
  smoothing_->setSpecialValueText("off");
  smoothing_->setToolTip("Exponential moving average of the train curves; time constant in training steps");
  // Short, and allowed to shrink away: a long label would set the dock's minimum width.
  auto* hint = new QLabel("click: inspect · right-click: rewind/fork", this);
  hint->setStyleSheet("color: #777;");
  hint->setToolTip("Click the plot to inspect the values at a step; right-click near a snapshot mark "
                   "(▲) to rewind the run to it or fork a new run from it");
  hint->setMinimumWidth(0);
  hint->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

  auto* controls = new QHBoxLayout;
  controls->setContentsMargins(6, 2, 6, 0);
  controls->addWidget(new QLabel("Smoothing", this));
  controls->addWidget(smoothing_);
  controls->addStretch(1);
  controls->addWidget(hint);

  buildPlot();
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addLayout(controls);
  layout->addWidget(plot_, 1);

  connect(smoothing_, qOverload<int>(&QSpinBox::valueChanged), this, [this] { redraw(); });
  connect(plot_, &QCustomPlot::mousePress, this, &LossView::onPlotMousePress);
}

QCPGraph* LossView::addCurve(QCPAxisRect* rect, const QPen& pen, const QString& name) {
  QCPGraph* g = plot_->addGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
  g->setPen(pen);
  g->setName(name);
  if (name.isEmpty()) g->removeFromLegend();
  return g;
}

void LossView::buildPlot() {
  plot_ = new QCustomPlot(this);
  plot_->setMinimumSize(320, 160);
  plot_->setAutoAddPlottableToLegend(true);

  heading_ = new QCPTextElement(plot_, title(), plotFont(10));
  plot_->plotLayout()->insertRow(0);
  plot_->plotLayout()->addElement(0, 0, heading_);
  lossRect_ = plot_->axisRect(0);
  accRect_ = new QCPAxisRect(plot_);
  plot_->plotLayout()->addElement(2, 0, accRect_);
  plot_->plotLayout()->setRowStretchFactor(1, 3);
  plot_->plotLayout()->setRowStretchFactor(2, 2);
  plot_->plotLayout()->setRowSpacing(4);
  auto* margins = new QCPMarginGroup(plot_);
  lossRect_->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  accRect_->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  stylePlot(*plot_);

  setVerticalAxisLabel(*lossRect_->axis(QCPAxis::atLeft), "task loss", "loss");
  setVerticalAxisLabel(*accRect_->axis(QCPAxis::atLeft), "accuracy (%)", "acc. %");
  accRect_->axis(QCPAxis::atBottom)->setLabel("training step");
  lossRect_->axis(QCPAxis::atBottom)->setTickLabels(false);
  for (QCPAxisRect* r : {lossRect_, accRect_}) {
    r->axis(QCPAxis::atLeft)->grid()->setSubGridVisible(false);
    r->axis(QCPAxis::atBottom)->ticker()->setTickCount(8);
  }

  QPen rawTrain(QColor(kTrainColor.red(), kTrainColor.green(), kTrainColor.blue(), 60), 1);
  trainLossRaw_ = addCurve(lossRect_, rawTrain, {});
  trainLoss_ = addCurve(lossRect_, QPen(kTrainColor, 1.8), "train");
  evalLoss_ = addCurve(lossRect_, QPen(kEvalColor, 1.6), "held-out");
  evalLoss_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, kEvalColor, Qt::white, 5));
  trainAccRaw_ = addCurve(accRect_, rawTrain, {});
  trainAcc_ = addCurve(accRect_, QPen(kTrainColor, 1.8), {});
  evalAcc_ = addCurve(accRect_, QPen(kEvalColor, 1.6), {});
  evalAcc_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, kEvalColor, Qt::white, 5));

  // Snapshot marks sit on a hidden 0..1 axis along the bottom of the loss plot: a timeline that
  // does not move when the loss range changes.
  QCPAxis* marksAxis = lossRect_->axis(QCPAxis::atRight);
  marksAxis->setRange(0, 1);
  snapshotMarks_ = plot_->addGraph(lossRect_->axis(QCPAxis::atBottom), marksAxis);
  snapshotMarks_->setLineStyle(QCPGraph::lsNone);
  snapshotMarks_->setScatterStyle(
      QCPScatterStyle(QCPScatterStyle::ssTriangle, kSnapshotColor, QColor(190, 190, 190), 7));
  snapshotMarks_->setName("snapshot (rewind / fork point)");

  // The legend is a row of its own above the loss curves (as many columns as fit), so it never
  // hides a curve.
  lossRect_->insetLayout()->take(plot_->legend);
  plot_->plotLayout()->insertRow(1);
  plot_->plotLayout()->addElement(1, 0, plot_->legend);
  plot_->plotLayout()->setRowStretchFactor(1, 0.001);
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

  // Selection marker: a dotted line through both plots and a label with the values at that step.
  const QPen selectPen(QColor(60, 60, 60), 1, Qt::DotLine);
  selectLossLine_ = new QCPItemStraightLine(plot_);
  selectAccLine_ = new QCPItemStraightLine(plot_);
  for (auto [line, rect] : {std::pair{selectLossLine_, lossRect_}, std::pair{selectAccLine_, accRect_}}) {
    line->setPen(selectPen);
    line->setClipAxisRect(rect);
    for (QCPItemPosition* p : {line->point1, line->point2}) {
      p->setAxes(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
      p->setAxisRect(rect);
      p->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    line->point1->setCoords(0, 0);
    line->point2->setCoords(0, 1);
    line->setVisible(false);
  }
  selectLabel_ = new QCPItemText(plot_);
  selectLabel_->setClipAxisRect(lossRect_);
  selectLabel_->position->setAxes(lossRect_->axis(QCPAxis::atBottom), lossRect_->axis(QCPAxis::atLeft));
  selectLabel_->position->setAxisRect(lossRect_);
  selectLabel_->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
  selectLabel_->setFont(plotFont(8));
  selectLabel_->setPadding(QMargins(4, 2, 4, 2));
  selectLabel_->setBrush(QColor(255, 255, 255, 230));
  selectLabel_->setPen(QPen(QColor(170, 170, 170)));
  selectLabel_->setVisible(false);
}

int LossView::smoothingSteps() const { return smoothing_->value(); }
void LossView::setSmoothingSteps(int steps) { smoothing_->setValue(steps); }

void LossView::showSnapshot(const RunSnapshot& snapshot) {
  auto extract = [](const std::vector<HistoryPoint>& history, RunCurves& c) {
    c.trainLoss = {}, c.evalLoss = {}, c.trainAcc = {}, c.evalAcc = {};
    c.trainLoss.steps.reserve(int(history.size()));
    c.trainLoss.values.reserve(int(history.size()));
    for (const HistoryPoint& h : history) {
      appendFinite(c.trainLoss.steps, c.trainLoss.values, h.step, h.taskLoss);
      appendFinite(c.evalLoss.steps, c.evalLoss.values, h.step, h.evalLoss);
      appendFinite(c.trainAcc.steps, c.trainAcc.values, h.step, 100.0 * h.accuracy);
      appendFinite(c.evalAcc.steps, c.evalAcc.values, h.step, 100.0 * h.evalAccuracy);
    }
  };
  extract(snapshot.history, main_);
  main_.label = "this run";
  comparisons_.resize(snapshot.comparisons.size());
  for (size_t i = 0; i < snapshot.comparisons.size(); ++i) {
    extract(snapshot.comparisons[i].history, comparisons_[i]);
    comparisons_[i].label = QString::fromStdString(snapshot.comparisons[i].label);
  }
  snapshotSteps_ = snapshot.snapshotSteps;
  std::sort(snapshotSteps_.begin(), snapshotSteps_.end());
  runName_ = QString::fromStdString(snapshot.spec.name);
  step_ = snapshot.step;
  // Regression runs have no accuracy (NaN): their loss plot takes the whole height.
  if (!snapshot.history.empty()) setAccuracyShown(!main_.trainAcc.steps.isEmpty() || !main_.evalAcc.steps.isEmpty());
  if (selectedStep_ >= 0 && (main_.trainLoss.steps.isEmpty() || selectedStep_ > main_.trainLoss.steps.back()))
    selectedStep_ = -1;  // rewound past the selection
  redraw();
}

void LossView::setAccuracyShown(bool shown) {
  if (shown == accuracyShown_) return;
  accuracyShown_ = shown;
  QCPLayoutGrid* grid = plot_->plotLayout();
  if (shown) {
    // Rows: heading, legend, loss, accuracy.
    grid->addElement(3, 0, accRect_);
    grid->setRowStretchFactor(2, 3);
    grid->setRowStretchFactor(3, 2);
  } else {
    grid->take(accRect_);
    grid->simplify();
  }
  accRect_->setVisible(shown);
  QCPAxis* lossX = lossRect_->axis(QCPAxis::atBottom);
  lossX->setTickLabels(!shown);
  lossX->setLabel(shown ? QString() : QString("training step"));
}

void LossView::ensureComparisonGraphs(int runs) {
  while (int(comparisonLoss_.size()) < runs) {
    const int i = int(comparisonLoss_.size());
    QPen pen(comparisonColor(i), 1.4, Qt::SolidLine);
    comparisonLoss_.push_back(addCurve(lossRect_, pen, "comparison"));
    comparisonAcc_.push_back(addCurve(accRect_, pen, {}));
  }
  for (size_t i = 0; i < comparisonLoss_.size(); ++i) {
    const bool used = int(i) < runs;
    comparisonLoss_[i]->setVisible(used);
    comparisonAcc_[i]->setVisible(used);
    if (used) comparisonLoss_[i]->addToLegend();
    else comparisonLoss_[i]->removeFromLegend();
  }
}

void LossView::redraw() {
  const double tau = smoothing_->value();
  const bool smoothed = tau > 0;
  trainLoss_->setName(smoothed ? QString("train (EMA %1 steps)").arg(int(tau)) : QString("train"));
  trainLossRaw_->setVisible(smoothed);
  trainAccRaw_->setVisible(smoothed);

  const RunCurves& m = main_;
  trainLossRaw_->setData(m.trainLoss.steps, m.trainLoss.values, true);
  trainLoss_->setData(m.trainLoss.steps, smoothEma(m.trainLoss.steps, m.trainLoss.values, tau), true);
  evalLoss_->setData(m.evalLoss.steps, m.evalLoss.values, true);
  trainAccRaw_->setData(m.trainAcc.steps, m.trainAcc.values, true);
  trainAcc_->setData(m.trainAcc.steps, smoothEma(m.trainAcc.steps, m.trainAcc.values, tau), true);
  evalAcc_->setData(m.evalAcc.steps, m.evalAcc.values, true);

  Bounds steps, loss, acc;
  for (const Curve* c : {&m.trainLoss, &m.evalLoss}) steps.add(c->steps), loss.add(c->values);
  acc.add(m.trainAcc.values);
  acc.add(m.evalAcc.values);

  // Comparisons: the train curve, smoothed like this run's, dashed in the run's own colour.
  ensureComparisonGraphs(int(comparisons_.size()));
  for (size_t i = 0; i < comparisons_.size(); ++i) {
    const RunCurves& c = comparisons_[i];
    comparisonLoss_[i]->setName(c.label + " (train)");
    comparisonLoss_[i]->setData(c.trainLoss.steps, smoothEma(c.trainLoss.steps, c.trainLoss.values, tau), true);
    comparisonAcc_[i]->setData(c.trainAcc.steps, smoothEma(c.trainAcc.steps, c.trainAcc.values, tau), true);
    steps.add(c.trainLoss.steps);
    loss.add(c.trainLoss.values);
    acc.add(c.trainAcc.values);
  }

  QVector<double> markKeys(int(snapshotSteps_.size())), markValues(int(snapshotSteps_.size()), 0.035);
  for (size_t i = 0; i < snapshotSteps_.size(); ++i) markKeys[int(i)] = snapshotSteps_[i];
  snapshotMarks_->setData(markKeys, markValues, true);
  if (snapshotSteps_.empty()) snapshotMarks_->removeFromLegend();
  else snapshotMarks_->addToLegend();

  // Ranges: x spans every run; loss on a log axis while it is positive (it spans decades);
  // accuracy from just below its minimum to 100 %.
  const double x0 = steps.valid() ? steps.lo : 0, x1 = steps.valid() ? std::max(steps.hi, x0 + 1) : 1;
  for (QCPAxisRect* r : {lossRect_, accRect_}) r->axis(QCPAxis::atBottom)->setRange(x0, x1);
  QCPAxis* lossY = lossRect_->axis(QCPAxis::atLeft);
  const bool logScale = loss.valid() && loss.lo > 0;
  if (logScale != (lossY->scaleType() == QCPAxis::stLogarithmic)) {
    lossY->setScaleType(logScale ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (logScale) lossY->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    else lossY->setTicker(QSharedPointer<QCPAxisTicker>::create());
    if (logScale) setVerticalAxisLabel(*lossY, "task loss (log scale)", "loss (log)");
    else setVerticalAxisLabel(*lossY, "task loss", "loss");
  }
  if (loss.valid()) {
    if (logScale) lossY->setRange(loss.lo / 1.25, loss.hi * 1.25);
    else lossY->setRange(loss.lo - 0.05 * (loss.hi - loss.lo + 1e-9), loss.hi + 0.08 * (loss.hi - loss.lo + 1e-9));
  }
  const double accLo = acc.valid() ? std::clamp(std::floor((acc.lo - 2) / 10) * 10, 0.0, 90.0) : 0.0;
  accRect_->axis(QCPAxis::atLeft)->setRange(accLo, 100.5);

  headings_ = {QString("Loss and accuracy · step %1").arg(step_), QString("step %1").arg(step_)};
  if (!runName_.isEmpty()) headings_.prepend(QString("Loss and accuracy · %1 · step %2").arg(runName_).arg(step_));
  fitHeading();  // to the width of the last layout; afterLayout fits again if it changed
  updateSelectionMarker();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

bool LossView::fitHeading() {
  if (headings_.isEmpty()) return false;
  // The heading drops the run's name, then "Loss and accuracy", before it would run off the plot
  // (before the first layout: the longest).
  const int width = plot_->legend->outerRect().width();
  const QString heading = width > 0 ? firstThatFits(headings_, heading_->font(), width - 12) : headings_.front();
  if (heading == heading_->text()) return false;
  heading_->setText(heading);
  return true;
}

void LossView::updateSelectionMarker() {
  const bool on = selectedStep_ >= 0;
  selectLossLine_->setVisible(on);
  selectAccLine_->setVisible(on && accuracyShown_);
  selectLabel_->setVisible(on);
  if (!on) return;
  const double x = selectedStep_;
  for (QCPItemStraightLine* line : {selectLossLine_, selectAccLine_}) {
    line->point1->setCoords(x, 0);
    line->point2->setCoords(x, 1);
  }
  auto valueAt = [](const QCPGraph* g, double step) {
    auto it = g->data()->findBegin(step, false);
    return (it != g->data()->constEnd() && it->key == step) ? it->value : std::nan("");
  };
  QString text = QString("step %1 · train loss %2").arg(selectedStep_).arg(valueAt(trainLoss_, x), 0, 'g', 3);
  const double acc = valueAt(trainAcc_, x);
  if (std::isfinite(acc)) text += QString(" · accuracy %1 %").arg(acc, 0, 'f', 1);
  const int snap = snapshotStepAtOrBefore(x);
  if (snap >= 0) text += QString("\nnearest snapshot at or before: step %1").arg(snap);
  selectLabel_->setText(text);
  // Keep the label inside the plot: to the right of the line in the left half, else to its left.
  const QCPRange range = lossRect_->axis(QCPAxis::atBottom)->range();
  const bool leftHalf = x < range.center();
  selectLabel_->position->setCoords(x, 0.03);
  selectLabel_->setPositionAlignment(Qt::AlignTop | (leftHalf ? Qt::AlignLeft : Qt::AlignRight));
  selectLabel_->setTextAlignment(Qt::AlignLeft);
}

void LossView::selectStep(int step) {
  selectedStep_ = step;
  updateSelectionMarker();
  plot_->replot(QCustomPlot::rpQueuedReplot);
  if (step >= 0) emit stepSelected(step);
}

void LossView::onPlotMousePress(QMouseEvent* event) {
  if (event->button() != Qt::LeftButton) return;
  const QPointF p = event->position();
  const bool inPlots = lossRect_->rect().contains(p.toPoint()) ||
                       (accuracyShown_ && accRect_->rect().contains(p.toPoint()));
  if (!inPlots) return;
  const double step = lossRect_->axis(QCPAxis::atBottom)->pixelToCoord(p.x());
  const int nearest = nearestStep(main_.trainLoss.steps, step);
  selectStep(nearest == selectedStep_ ? -1 : nearest);  // clicking the selection again clears it
}

int LossView::snapshotStepAtOrBefore(double step) const {
  auto it = std::upper_bound(snapshotSteps_.begin(), snapshotSteps_.end(), step,
                             [](double s, int v) { return s < double(v); });
  return it == snapshotSteps_.begin() ? -1 : *(it - 1);
}

double LossView::stepAt(const QPoint& pos) const {
  return lossRect_->axis(QCPAxis::atBottom)->pixelToCoord(plot_->mapFrom(this, pos).x());
}

QPoint LossView::positionOfStep(double step) const {
  const int x = int(std::lround(lossRect_->axis(QCPAxis::atBottom)->coordToPixel(step)));
  return plot_->mapTo(this, QPoint(x, lossRect_->rect().center().y()));
}

void LossView::addContextActions(QMenu& menu, const QPoint& pos) {
  if (main_.trainLoss.steps.isEmpty()) return;
  const double clicked = std::clamp(stepAt(pos), main_.trainLoss.steps.front(), main_.trainLoss.steps.back());
  const int step = snapshotStepAtOrBefore(clicked);
  if (step < 0) {
    menu.addAction(QString("No snapshot at or before step %1").arg(int(clicked)))->setEnabled(false);
    return;
  }
  menu.addAction(QString("Rewind to step %1").arg(step), this, [this, step] { emit rewindRequested(step); });
  menu.addAction(QString("Fork from step %1").arg(step), this, [this, step] { emit forkRequested(step); });
}

void LossView::paintFigure(QPainter& painter, const QSize& size) {
  paintPlotVector(painter, *plot_, QRect(QPoint(0, 0), size));
}

int LossView::trainPointCount() const { return trainLoss_->dataCount(); }
int LossView::evalPointCount() const { return evalLoss_->dataCount(); }
int LossView::accuracyPointCount() const { return accuracyShown_ ? trainAcc_->dataCount() : 0; }
int LossView::snapshotMarkerCount() const { return snapshotMarks_->dataCount(); }

int LossView::comparisonCurveCount() const {
  int n = 0;
  for (size_t i = 0; i < comparisonLoss_.size(); ++i) {
    n += comparisonLoss_[i]->visible() && comparisonLoss_[i]->dataCount() > 0;
    n += accuracyShown_ && comparisonAcc_[i]->visible() && comparisonAcc_[i]->dataCount() > 0;
  }
  return n;
}

double LossView::trainLossValue(int index) const {
  if (index < 0 || index >= trainLoss_->dataCount()) return std::nan("");
  return (trainLoss_->data()->constBegin() + index)->value;
}

}  // namespace rl::ui
