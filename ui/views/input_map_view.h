#pragma once
// InputMapView: for 2-D datasets, the input plane coloured by the expert the router picks (the
// gating partition of Jacobs et al. 1991), the model's decision boundary as dark lines, and the
// probe points coloured by class. Hovering a point shows its class, the prediction and its gate
// probabilities. Other datasets get a note instead of an empty plot.
#include <QColor>
#include <QPointF>
#include <QString>
#include <QStringList>
#include <vector>

#include "views/figure_view.h"

class QCPColorMap;
class QCPGraph;
class QCPTextElement;
class QCustomPlot;
class QCheckBox;
class QComboBox;
class QLabel;
class QMouseEvent;
class QStackedWidget;

namespace rl::ui {

class BoundaryLinesItem;

class InputMapView : public FigureView {
  Q_OBJECT
 public:
  explicit InputMapView(QWidget* parent = nullptr);

  QString title() const override { return QStringLiteral("Input-space map"); }
  void showSnapshot(const RunSnapshot& snapshot) override;

  // The MoE layer whose router colours the plane; the selector is visible with several layers.
  int layerCount() const;
  int currentLayer() const;
  void setCurrentLayer(int layer);
  // Fill the plane by predicted class instead of by expert (classification only).
  bool colourByClass() const;
  void setColourByClass(bool byClass);

  // What is drawn. Cells are indexed like InputMap: ix along x, iy along y.
  int mapResolution() const;               // 0 while the note is shown
  int mapCellValue(int ix, int iy) const;  // expert (or class when colouring by class); -1 outside
  QColor mapCellColor(int ix, int iy) const;  // as painted, alpha included
  int boundarySegments() const;            // decision-boundary line pieces
  int pointCount() const;                  // probe points drawn
  // The hover text for the probe point nearest to `dataPoint` (input coordinates), or an empty
  // string when none lies within 2.5% of the plot's span.
  QString tooltipAt(QPointF dataPoint) const;
  bool showsNote() const;
  QString titleText() const;  // as drawn: the longest variant that fits the width
  QRect legendRect() const;   // widget pixels (layout checks)
  QRect planeRect() const;
  QString noteText() const;

 protected:
  void paintFigure(QPainter& painter, const QSize& size) override;
  void showEvent(QShowEvent* event) override;

 private:
  void buildPlot();
  void updateLayerSelector(int layers);
  void redraw();
  void replotIfVisible();
  void updateMap(int layer);
  void updateBoundary();
  void updatePoints();
  void updateLegend(int experts);
  void fitEqualAspect();
  void showNote(const QString& note);
  void onMouseMove(QMouseEvent* event);
  int nearestPoint(QPointF dataPoint) const;

  QWidget* controls_ = nullptr;
  QLabel* layerLabel_ = nullptr;
  QComboBox* layerBox_ = nullptr;
  QCheckBox* byClassBox_ = nullptr;
  QStackedWidget* stack_ = nullptr;
  QLabel* note_ = nullptr;

  QCustomPlot* plot_ = nullptr;
  QCPTextElement* title_ = nullptr;
  QCPColorMap* map_ = nullptr;
  BoundaryLinesItem* boundary_ = nullptr;
  std::vector<QCPGraph*> pointGraphs_;   // one per class (legend entries for classes)
  std::vector<QCPGraph*> expertSwatches_;  // data-less graphs: legend entries for expert colours
  QCPGraph* boundaryEntry_ = nullptr;    // data-less graph: legend entry for the boundary
  QCPGraph* othersEntry_ = nullptr;      // data-less graph: "N other experts · no region"
  QStringList titles_;                   // title variants, longest first
  QCPGraph* hoverRing_ = nullptr;

  // The parts of the last snapshot this view draws (kept for layer switches and hovering, and
  // compared to skip frames whose data did not change).
  struct Shown {
    int step = -1, classes = -1, inputDim = 0;
    std::string dataKind;
    bool tokens = false;  // a Transformer: it reads token sequences, there is no input plane
    InputMap map;
    Probe probe;
    std::vector<int> layerExperts, layerK;
    bool sameData(const RunSnapshot& s) const;
  } shown_;
  int mapExperts_ = 0;  // colour levels of the current fill
  std::vector<int> cellsPerExpert_;  // of the shown layer's map, for the legend
  int hovered_ = -1;
};

}  // namespace rl::ui
