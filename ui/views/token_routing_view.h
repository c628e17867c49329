#pragma once
// TokenRoutingView: how a Transformer's MoE layers route tokens. Top, the sample sequence as a
// grid (one row per MoE layer, one cell per token showing its text) filled with the chosen
// expert's colour, paler for a lower gate weight, hatched for a dropped token. Bottom, the
// layer-to-layer flow over the probe set: one heatmap per pair of consecutive layers, a row per
// expert at layer l giving the share of its tokens that layer l + 1 sends to each expert.
// A selection of probe tokens (the Representations view's lasso) outlines the sample sequence's
// selected tokens, fades the others and restricts the flow to the selected tokens.
// Everything is painted with QPainter at the requested size, so SVG and PDF exports are vector.
#include <QRect>
#include <QString>
#include <QVector>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "run/token_routing.h"
#include "views/figure_view.h"

namespace rl::ui {

class TokenRoutingView : public FigureView {
  Q_OBJECT
 public:
  explicit TokenRoutingView(QWidget* parent = nullptr);

  QString title() const override { return QStringLiteral("Token routing"); }
  void showSnapshot(const RunSnapshot& snapshot) override;

  // What the view draws (tests, the window's checks). Rectangles are in widget pixels at the
  // current size; an empty rectangle means not drawn.
  bool showsRouting() const;      // false while a note is shown instead
  QString noteText() const;       // the note ("" when the routing is drawn)
  QRect tokenCellRect(int layer, int token) const;
  QRect flowCellRect(int pair, int from, int to) const;
  int shownTokens() const;        // tokens drawn in the grid (the first ones, when space is short)
  QString titleText() const;      // the title as drawn at the current size ("" with a note)
  QRect browseButton(bool next) const;  // the ◀ (false) / ▶ (true) button; empty with one sequence
  QString tooltipAt(const QPoint& pos) const;  // "" where there is nothing to explain

  // The probe sequence drawn as the sample (0 .. sequenceCount()-1; clamped). The ◀ ▶ buttons in
  // the title and the arrow / Page keys browse them; the choice stays across snapshots.
  void setSampleSequence(int s);
  int sampleSequence() const { return sample_; }
  int sequenceCount() const;  // probe sequences that can be shown (1 when only the sample is recorded)

  // Probe tokens to single out (rows s T + t of the probe; the sample sequence is rows 0 .. T-1),
  // e.g. the points lassoed in the Representations view. Rows outside the probe are ignored; empty
  // clears the selection.
  void setSelectedRows(const std::vector<int>& probeRows);
  bool hasSelection() const { return !selection_.empty(); }
  bool tokenSelected(int token) const;  // a sample-sequence token in the selection
  int selectedProbeTokens() const;      // selected rows that are probe tokens
  // The flow the panels draw: the selected tokens' with a selection (when the routing records
  // per-token choices), else the whole probe's.
  const RoutingFlow& shownFlow() const;

  // A click on a token asks for it alone to be selected (a click on the only selected token: for
  // none); Ctrl+click adds or removes it. The window passes the request to the Representations
  // view, whose selection comes back through setSelectedRows.
 signals:
  void rowsPicked(const QVector<int>& probeRows);

 public:
  // The fill of a routed token's cell: the expert's palette colour (expertColor) mixed with white,
  // full colour at gate weight 1.
  static QColor tokenFill(int expert, float weight);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void paintFigure(QPainter& painter, const QSize& size) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  struct Layout;
  Layout layoutFor(const QSize& size) const;
  // The token cell under `pos` in `lay`: {layer, token}, or {-1, -1}.
  std::pair<int, int> cellAt(const Layout& lay, const QPoint& pos) const;
  int probeRow(int token) const;  // the probe row of the shown sequence's token
  void paint(QPainter& painter, const QSize& size, bool onScreen) const;
  void setRouting(const std::optional<TokenRouting>& routing, int step);
  void updateShown();      // shown_ from routing_ and sample_
  void updateShownFlow();  // shownFlow_ and shares_ from routing_ and selection_
  bool selectionFlowShown() const;

  std::optional<TokenRouting> routing_;
  std::optional<TokenRouting> shown_;  // routing_ with probe sequence sample_ as the sample
  int sample_ = 0;
  QString groupKind_;                    // "task", "language", ... (the snapshot's)
  std::vector<std::string> groupNames_;
  std::string problem_;  // why routing_ cannot be drawn ("" when it can)
  std::vector<int> selection_;  // selected probe rows, sorted and unique
  RoutingFlow selectionFlow_;   // [L-1][E_l][E_{l+1}] the selected tokens' flow (when shown)
  std::vector<std::vector<std::vector<double>>> shares_;  // [L-1][E_l][E_{l+1}] shownFlow() row-normalised
  int step_ = -1;
  int hoveredToken_ = -1;  // outlined in every layer row while the mouse is over it
};

}  // namespace rl::ui
