#pragma once
// LoadView: how the router spreads work. Top: per-expert bars for the latest step, token share
// (load) beside mean gate probability (importance), with the uniform 1/E line and the capacity
// line; the heading names the dropped fraction. Bottom: the load of every expert over steps as a
// stacked area. Dense routers send every input to every expert, so their load is uniform by
// construction: the view says so and plots importance instead.
#include <QString>
#include <QVector>
#include <vector>

#include "views/figure_view.h"

class QComboBox;
class QCustomPlot;
class QCPAxisRect;
class QCPBars;
class QCPGraph;
class QCPTextElement;

namespace rl::ui {

class LoadView : public FigureView {
  Q_OBJECT
 public:
  explicit LoadView(QWidget* parent = nullptr);

  QString title() const override { return "Expert load"; }
  void showSnapshot(const RunSnapshot& snapshot) override;

  // MoE layer shown (index into RunSnapshot::layers); the selector is visible with 2+ layers.
  int layerCount() const { return int(layers_.size()); }
  int currentLayer() const { return layer_; }
  void setCurrentLayer(int layer);

  // What the plot holds (tests, the window's checks). Shares are fractions (0..1).
  int barCount() const;                 // experts with bars
  double loadBar(int expert) const;     // latest token share of the expert
  double importanceBar(int expert) const;  // latest mean gate probability
  double uniformShare() const;          // 1/E; 0 when no layer
  bool capacityLineVisible() const;
  double capacityShare() const;         // capacity / (batch rows · k); 0 when unlimited
  double droppedFraction() const;       // latest share of routing choices dropped
  bool uniformByConstruction() const;   // dense router: load is uniform, importance is the signal
  int stackedPointCount() const;        // points per expert in the stacked area
  QString headingText() const;          // heading and note line, unwrapped
  // The legend's outer rectangle and the bar plot's, in widget pixels (layout checks).
  QRect legendRect() const;
  QRect barRectArea() const;

 protected:
  void paintFigure(QPainter& painter, const QSize& size) override;

 private:
  // One MoE layer's data, copied flat out of the snapshot (so changing the layer redraws
  // without waiting for the next snapshot).
  struct LayerData {
    RunSnapshot::LayerInfo info;
    QString routerName;
    std::vector<double> steps;
    std::vector<float> load, importance;  // [steps × experts]
    std::vector<float> latestLoad, latestImportance;
    double latestDropped = 0;
    double capacityShare = 0;
  };

  void buildPlot();
  void ensureExperts(int experts);
  void updateLayerSelector();
  void redraw();
  void drawBars(const LayerData& d);
  void drawStack(const LayerData& d);
  void setTexts(const QString& heading, const QString& note);
  bool fitTexts();  // heading and note fitted to the plot's size; true when a text changed

  QComboBox* layerBox_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  QCPTextElement* heading_ = nullptr;
  QCPTextElement* note_ = nullptr;
  QString headingFull_, noteFull_;  // unwrapped; the elements hold them wrapped to the width
  QCPAxisRect* barRect_ = nullptr;
  QCPAxisRect* stackRect_ = nullptr;
  std::vector<QCPBars*> loadBars_, importanceBars_;
  QCPBars *loadLegend_ = nullptr, *importanceLegend_ = nullptr;  // data-less legend swatches
  QCPGraph *uniformLine_ = nullptr, *capacityLine_ = nullptr;
  std::vector<QCPGraph*> stack_;

  std::vector<LayerData> layers_;
  int layer_ = 0;
  int step_ = 0;
  bool denseStyle_ = false;
};

}  // namespace rl::ui
