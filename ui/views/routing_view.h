#pragma once
// RoutingView: which experts the router sends the probe batch to. Left, a heatmap of gate
// probabilities (one row per probe row, grouped by class; one column per expert); right, the
// class × expert routing matrix of the last held-out evaluation, normalised per class, so one
// sees which experts serve which class.
#include <QSharedPointer>
#include <QString>
#include <QStringList>
#include <vector>

#include "views/figure_view.h"

class QCPAxisTickerText;
class QCPColorMap;
class QCPColorScale;
class QCPItemLine;
class QCPItemRect;
class QCPItemText;
class QCPTextElement;
class QCustomPlot;
class QComboBox;
class QLabel;
class QStackedWidget;

namespace rl::ui {

class RoutingView : public FigureView {
  Q_OBJECT
 public:
  explicit RoutingView(QWidget* parent = nullptr);

  QString title() const override { return QStringLiteral("Routing decisions"); }
  void showSnapshot(const RunSnapshot& snapshot) override;

  // The MoE layer shown; the selector is visible only when there are several.
  int layerCount() const;
  int currentLayer() const;
  void setCurrentLayer(int layer);

  // The heatmap as drawn: display rows top to bottom (grouped by class, within a class by top
  // expert), columns = experts. Values are read back from the colour map's data.
  int heatmapRows() const;
  int heatmapColumns() const;
  double heatmapValue(int row, int expert) const;
  int heatmapRowSource(int row) const;  // index of the display row in the probe batch
  int heatmapRowClass(int row) const;   // -1 for regression (rows are not grouped)
  std::vector<int> heatmapGroupStarts() const;  // first display row of each class group

  // Probe rows (= held-out rows: the probe batch is the first rows of the held-out split) to
  // highlight, e.g. the points lassoed in the Representations view: the other heatmap rows fade.
  // Rows beyond the probe batch are ignored; empty clears the highlight.
  void setHighlightedRows(const std::vector<int>& probeRows);
  const std::vector<int>& highlightedRows() const { return highlighted_; }
  bool heatmapRowHighlighted(int row) const;  // display row; false when nothing is highlighted
  double heatmapAlpha(int row, int expert) const;  // 0–255 as drawn (255 without a highlight)

  // The class × expert matrix as drawn (each class row sums to 1); 0 classes for regression or
  // before the first evaluation, when a note is shown instead. For a Transformer the rows are the
  // tokens' tasks or languages (matrixRowKind says which, matrixRowLabel names a row).
  int matrixClasses() const;
  int matrixExperts() const;
  double matrixValue(int cls, int expert) const;
  QString matrixCellText(int cls, int expert) const;
  bool matrixShown() const;
  QString matrixRowKind() const { return shown_.groupKind; }
  QString matrixRowLabel(int row) const { return groupLabel(row); }
  QString matrixNote() const;
  bool matrixCellTextsShown() const;  // percentages drawn (hidden when cells are too small)

  // Titles as drawn (the longest variant that fits the width) and the heatmap's colour range.
  QString heatmapTitle() const;
  QString matrixTitle() const;
  QRect heatmapTitleRect() const;
  double heatmapColourTop() const;  // gate probability drawn in the brightest colour

 protected:
  void paintFigure(QPainter& painter, const QSize& size) override;
  void showEvent(QShowEvent* event) override;

 private:
  // Coloured expert header cells under a plot's columns (colour and number of each expert).
  struct ExpertStrip {
    std::vector<QCPItemRect*> cells;
    std::vector<QCPItemText*> labels;
  };

  void buildHeatmap();
  void buildMatrix();
  void updateLayerSelector(int layers);
  void redraw();
  void replotIfVisible();
  void updateHeatmap(int layer);
  void updateMatrix(int layer);
  QString groupLabel(int group) const;  // a matrix row or heatmap group: "class 2", "copy"
  QString waitingNote() const;
  void showMatrixNote(const QString& note);
  int applyHighlight();  // returns the number of highlighted display rows
  static void setTitles(QCPTextElement* title, QStringList& titles, const QStringList& candidates);
  static void fitToWidth(QCustomPlot* plot, QCPTextElement* title, const QStringList& titles, ExpertStrip& strip);
  void fitCellTexts();
  static void updateStrip(QCustomPlot* plot, ExpertStrip& strip, int experts, double top, double bottom);

  QComboBox* layerBox_ = nullptr;
  QWidget* layerBar_ = nullptr;

  QCustomPlot* heatPlot_ = nullptr;
  QCPTextElement* heatTitle_ = nullptr;
  QCPColorMap* heatMap_ = nullptr;
  QCPColorScale* heatScale_ = nullptr;
  QSharedPointer<QCPAxisTickerText> heatClassTicks_;
  std::vector<QCPItemLine*> separators_;
  ExpertStrip heatStrip_;
  QStringList heatTitles_, matrixTitles_;  // title variants, longest first

  QStackedWidget* matrixStack_ = nullptr;
  QCustomPlot* matrixPlot_ = nullptr;
  QCPTextElement* matrixTitle_ = nullptr;
  QCPColorMap* matrixMap_ = nullptr;
  QSharedPointer<QCPAxisTickerText> matrixClassTicks_;
  std::vector<QCPItemText*> cellTexts_;
  ExpertStrip matrixStrip_;
  QLabel* matrixNote_ = nullptr;
  bool cellTextsFit_ = true;

  // The parts of the last snapshot this view draws (kept for layer switches, and compared to
  // skip frames whose data did not change).
  struct Shown {
    int step = -1, classes = -1;
    // Rows of the matrix and groups of the heatmap: classes, or a Transformer's tasks/languages.
    int groups = 0;
    QString groupKind = QStringLiteral("class");
    QStringList groupNames;  // empty: "class 0", ...
    bool tokens = false;     // Transformer: probe rows are tokens
    Probe probe;
    std::vector<std::vector<std::vector<double>>> classExpertCounts;
    bool sameData(const RunSnapshot& s) const;
  } shown_;
  // What is drawn, for the accessors.
  std::vector<int> order_, rowClass_, groupStarts_;
  std::vector<double> matrix_;  // [classes * experts], each class row normalised
  int matrixClasses_ = 0, matrixExperts_ = 0;
  std::vector<int> highlighted_;  // probe rows, sorted
};

}  // namespace rl::ui
