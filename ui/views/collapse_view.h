#pragma once
// CollapseView: routing health over training steps. Top plot: normalised load entropy, max
// share, router entropy (/ ln E) and class–expert mutual information (evaluated steps only),
// with the detector's thresholds, and the coefficient of variation on the right axis. Bottom
// plot: the dead-expert count. When the collapse detector fires, a red banner names the step
// where collapse began and the experts that died, and a vertical line marks that step.
#include <QString>
#include <vector>

#include "views/figure_view.h"

class QComboBox;
class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCPTextElement;
class QLabel;

namespace rl::ui {

class CollapseView : public FigureView {
  Q_OBJECT
 public:
  explicit CollapseView(QWidget* parent = nullptr);

  QString title() const override { return "Collapse"; }
  void showSnapshot(const RunSnapshot& snapshot) override;

  int layerCount() const { return int(layers_.size()); }
  int currentLayer() const { return layer_; }
  void setCurrentLayer(int layer);

  // What the view holds (tests, the window's checks).
  bool alertVisible() const;
  QString alertText() const;                 // the banner's plain text ("" when hidden)
  int seriesPointCount() const;              // points in the load-entropy curve
  int mutualInformationPointCount() const;   // evaluated steps with mutual information
  int deadExpertCount() const;               // the dead-expert curve's latest value
  std::vector<int> deadExperts() const;      // from the detector's verdict for the shown layer
  bool collapseMarkerVisible() const;
  int collapseMarkerStep() const;            // -1 when no collapse
  QString headingText() const { return headingFull_; }
  // The legend's outer rectangle and the curves' axis rect, in widget pixels (layout checks).
  QRect legendRect() const;
  QRect curvesRect() const;

 protected:
  void paintFigure(QPainter& painter, const QSize& size) override;

 private:
  // One layer's curves, copied flat out of the snapshot.
  struct LayerData {
    int experts = 0;
    std::vector<double> steps, entropy, cv, maxShare, routerEntropy, dead;
    std::vector<double> miSteps, mi;
    CollapseVerdict verdict;
  };

  void buildPlot();
  void updateLayerSelector();
  void redraw();
  void updateBanner(const LayerData& d);
  bool fitHeading();  // headingFull_ fitted to the plot's size; true when the text changed
  QString legendTip(int item) const;
  QCPGraph* addCurve(QCPAxisRect* rect, const QColor& color, const QString& name, bool right = false);

  QComboBox* layerBox_ = nullptr;
  QLabel* banner_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  QCPTextElement* heading_ = nullptr;
  QString headingFull_;  // unwrapped; the element holds it wrapped to the width
  QCPAxisRect* healthRect_ = nullptr;
  QCPAxisRect* deadRect_ = nullptr;
  QCPGraph *entropy_ = nullptr, *maxShare_ = nullptr, *routerEntropy_ = nullptr, *mi_ = nullptr, *cv_ = nullptr;
  QCPGraph *entropyLimit_ = nullptr, *maxShareLimit_ = nullptr, *dead_ = nullptr;
  QCPItemStraightLine *beganHealth_ = nullptr, *beganDead_ = nullptr;
  QCPItemText* beganLabel_ = nullptr;
  QCPItemText* deadLabel_ = nullptr;

  std::vector<LayerData> layers_;
  int layer_ = 0;
  int step_ = 0;
};

}  // namespace rl::ui
