#pragma once
// LossView: task loss (train and held-out) and accuracy over training steps, with EMA smoothing,
// comparison runs overlaid dashed, and the run's snapshots marked as a timeline: right-click a
// step to rewind to, or fork from, the nearest snapshot at or before it.
#include <QPoint>
#include <QString>
#include <QStringList>
#include <QVector>
#include <vector>

#include "views/figure_view.h"

class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCPTextElement;
class QMouseEvent;
class QSpinBox;

namespace rl::ui {

class LossView : public FigureView {
  Q_OBJECT
 public:
  explicit LossView(QWidget* parent = nullptr);

  QString title() const override { return "Loss and accuracy"; }
  void showSnapshot(const RunSnapshot& snapshot) override;

  // Exponential moving average with a time constant in training steps (0 = raw values).
  int smoothingSteps() const;
  void setSmoothingSteps(int steps);

  // The nearest snapshot step at or before `step`, or -1 when there is none.
  int snapshotStepAtOrBefore(double step) const;
  // The training step under a point given in this widget's coordinates (via the x axis).
  double stepAt(const QPoint& pos) const;
  // A point inside the loss plot at `step`, in this widget's coordinates (inverse of stepAt).
  QPoint positionOfStep(double step) const;

  // Left click selects the recorded step nearest the click; -1 = none.
  int selectedStep() const { return selectedStep_; }
  void selectStep(int step);

  // What the plot holds (tests, the window's checks).
  int trainPointCount() const;       // train loss curve
  int evalPointCount() const;        // held-out loss points (evaluated steps only)
  int accuracyPointCount() const;    // train accuracy curve (0 for regression)
  int comparisonCurveCount() const;  // dashed overlay curves currently drawn (loss + accuracy)
  int snapshotMarkerCount() const;
  bool accuracyVisible() const { return accuracyShown_; }
  double trainLossValue(int index) const;  // the plotted (smoothed) train loss at a point

 signals:
  void rewindRequested(int step);
  void forkRequested(int step);
  void stepSelected(int step);

 protected:
  void paintFigure(QPainter& painter, const QSize& size) override;
  void addContextActions(QMenu& menu, const QPoint& pos) override;

 private:
  struct Curve { QVector<double> steps, values; };
  struct RunCurves { QString label; Curve trainLoss, evalLoss, trainAcc, evalAcc; };

  void buildPlot();
  void setAccuracyShown(bool shown);
  void redraw();
  void updateSelectionMarker();
  bool fitHeading();  // headings_: the first that fits the plot's width; true when the text changed
  void onPlotMousePress(QMouseEvent* event);
  QCPGraph* addCurve(QCPAxisRect* rect, const QPen& pen, const QString& name);
  void ensureComparisonGraphs(int runs);

  QSpinBox* smoothing_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  QCPTextElement* heading_ = nullptr;
  QStringList headings_;  // the heading, longest first; the first that fits the width is shown
  QCPAxisRect* lossRect_ = nullptr;
  QCPAxisRect* accRect_ = nullptr;
  QCPGraph *trainLossRaw_ = nullptr, *trainLoss_ = nullptr, *evalLoss_ = nullptr;
  QCPGraph *trainAccRaw_ = nullptr, *trainAcc_ = nullptr, *evalAcc_ = nullptr;
  QCPGraph* snapshotMarks_ = nullptr;
  std::vector<QCPGraph*> comparisonLoss_, comparisonAcc_;
  QCPItemStraightLine *selectLossLine_ = nullptr, *selectAccLine_ = nullptr;
  QCPItemText* selectLabel_ = nullptr;

  RunCurves main_;
  std::vector<RunCurves> comparisons_;
  std::vector<int> snapshotSteps_;  // sorted
  QString runName_;
  int step_ = 0;
  bool accuracyShown_ = true;
  int selectedStep_ = -1;
};

}  // namespace rl::ui
