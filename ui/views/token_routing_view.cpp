#include "views/token_routing_view.h"

#include <QFontMetrics>
#include <QKeyEvent>
#include <QLinearGradient>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <tuple>

#include "run/row_set.h"
#include "views/plot_style.h"

namespace rl::ui {
namespace {

// Text sizes in pixels, so the figure measures the same on screen, in SVG (72 dpi) and in PDF.
QFont pixelFont(int pixels, bool bold = false) {
  QFont f = plotFont();
  f.setPixelSize(pixels);
  f.setBold(bold);
  return f;
}
QFont titleFont() { return pixelFont(14, true); }
QFont panelTitleFont() { return pixelFont(12, true); }
QFont textFont() { return pixelFont(12); }
QFont cellFont() { return pixelFont(12); }
QFont smallFont() { return pixelFont(10); }

constexpr int kMargin = 8;
constexpr int kCellGap = 2;     // white space between token cells
constexpr int kBlockGap = 8;    // between wrapped lines of the sequence
constexpr int kSectionGap = 14;
constexpr int kPanelGap = 18;
constexpr int kSwatch = 12;
constexpr int kMaxFlowCell = 44;
constexpr int kMinFlowCell = 20;  // what the grid makes room for: percentages still fit
constexpr int kHatchStep = 5;

const QColor kText(40, 40, 40);
const QColor kMuted(105, 105, 105);
const QColor kHatch(150, 150, 150);
const QColor kEmptyRow(238, 238, 238);
const QColor kSelection(0, 0, 0);  // outline of selected tokens
constexpr double kFade = 0.7;      // unselected tokens: this much of the way to white

QColor mix(const QColor& a, const QColor& b, double t) {
  auto channel = [t](int x, int y) { return int(std::lround(x + (y - x) * t)); };
  return QColor(channel(a.red(), b.red()), channel(a.green(), b.green()), channel(a.blue(), b.blue()));
}

// Dark text on light fills, white on dark ones.
QColor textOn(const QColor& fill) {
  return 0.299 * fill.red() + 0.587 * fill.green() + 0.114 * fill.blue() < 140 ? QColor(Qt::white) : kText;
}

// Sequential "blues" for a share in [0, 1].
QColor shareColor(double share) {
  static const QColor stops[] = {QColor(247, 251, 255), QColor(198, 219, 239), QColor(107, 174, 214),
                                 QColor(33, 113, 181), QColor(8, 48, 107)};
  const double x = std::clamp(share, 0.0, 1.0) * 4;
  const int i = std::min(3, int(x));
  return mix(stops[i], stops[i + 1], x - i);
}

// Token text with whitespace made visible (a space token would otherwise be an empty cell).
QString displayText(const std::string& token) {
  QString t = QString::fromStdString(token);
  if (t.isEmpty()) return QStringLiteral("∅");
  t.replace('\n', QStringLiteral("↵")).replace('\t', QStringLiteral("⇥")).replace(' ', QStringLiteral("␣"));
  return t;
}

QString countText(double count) { return QString::number(std::llround(count)); }

// 45° hatching inside `r`, as line segments clipped by hand (SVG output does not clip reliably).
void drawHatch(QPainter& painter, const QRect& r, const QColor& color) {
  painter.save();
  painter.setRenderHint(QPainter::Antialiasing, true);
  painter.setPen(QPen(color, 1));
  const double w = r.width(), h = r.height();
  for (double c = kHatchStep; c < w + h; c += kHatchStep) {
    // The line x + y = c in the rectangle's own coordinates (y down), from lower left to upper right.
    const double x0 = std::max(0.0, c - h), x1 = std::min(w, c);
    painter.drawLine(QPointF(r.left() + x0, r.top() + c - x0), QPointF(r.left() + x1, r.top() + c - x1));
  }
  painter.restore();
}

}  // namespace

struct TokenRoutingView::Layout {
  struct Text {
    QRect rect;
    QString text;
    QFont font;
    QColor color;
    int flags = int(Qt::AlignLeft | Qt::AlignVCenter);
  };
  // Legend swatches: an expert's colour at a gate weight, or the dropped-token look.
  struct Swatch {
    QRect rect;
    int expert = 0;
    float weight = 1;
    bool dropped = false;
  };
  // One heatmap of the flow from layer `pair` to layer `pair` + 1.
  struct Panel {
    int pair = 0;
    std::vector<std::vector<QRect>> cells;  // [E_l][E_{l+1}]
    std::vector<QRect> rowHeads;            // [E_l] expert swatches left of the rows
    std::vector<QRect> colHeads;            // [E_{l+1}] expert swatches above the columns
    std::vector<QRect> counts;              // [E_l] row token counts right of the rows
    int numberPixels = 0;                   // font size of the percentages in the cells; 0 = none
  };

  std::vector<Text> texts;
  std::vector<Swatch> swatches;
  std::vector<std::vector<QRect>> cells;  // [L][T]; empty rectangles for tokens not shown
  std::vector<Panel> panels;
  QRect colorBar;
  int shownTokens = 0;
  QRect noteRect;  // the whole-view note, when the routing cannot be drawn
  QRect previous, next;  // the buttons that browse the probe sequences (on screen only; empty: one sequence)
};

TokenRoutingView::TokenRoutingView(QWidget* parent) : FigureView(parent) {
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);  // the arrow keys browse the probe sequences
  setMinimumSize(320, 200);
  setAttribute(Qt::WA_OpaquePaintEvent);
}

void TokenRoutingView::showSnapshot(const RunSnapshot& snapshot) {
  groupKind_ = QString::fromStdString(snapshot.groupKind);
  groupNames_ = snapshot.groupNames;
  if (snapshot.step == step_ && snapshot.tokenRouting == routing_) return;
  setRouting(snapshot.tokenRouting, snapshot.step);
}

int TokenRoutingView::sequenceCount() const { return routing_ && problem_.empty() ? browsableSequences(*routing_) : 0; }

void TokenRoutingView::setSampleSequence(int s) {
  const int count = sequenceCount();
  s = count > 0 ? std::clamp(s, 0, count - 1) : 0;
  if (s == sample_) return;
  sample_ = s;
  hoveredToken_ = -1;
  updateShown();
}

void TokenRoutingView::updateShown() {
  shown_ = routing_;
  if (routing_ && problem_.empty()) shown_ = withSampleSequence(*routing_, sample_);
  update();
}

void TokenRoutingView::setRouting(const std::optional<TokenRouting>& routing, int step) {
  routing_ = routing;
  step_ = step;
  problem_ = routing_ ? tokenRoutingProblem(*routing_) : std::string();
  hoveredToken_ = -1;
  sample_ = std::clamp(sample_, 0, std::max(0, sequenceCount() - 1));  // the same sequence, when it still exists
  updateShown();
  updateShownFlow();
}

void TokenRoutingView::setSelectedRows(const std::vector<int>& probeRows) {
  std::vector<int> rows = sortedUnique(probeRows);
  if (rows == selection_) return;
  selection_ = std::move(rows);
  updateShownFlow();
}

bool TokenRoutingView::selectionFlowShown() const {
  return hasSelection() && routing_ && problem_.empty() && !routing_->probeChosen.empty();
}

void TokenRoutingView::updateShownFlow() {
  selectionFlow_.clear();
  shares_.clear();
  if (routing_ && problem_.empty()) {
    if (selectionFlowShown()) selectionFlow_ = selectionFlow(*routing_, selection_);
    for (const auto& counts : shownFlow()) shares_.push_back(rowShares(counts));
  }
  update();
}

const RoutingFlow& TokenRoutingView::shownFlow() const {
  static const RoutingFlow none;
  if (!routing_) return none;
  return selectionFlowShown() ? selectionFlow_ : routing_->flow;
}

int TokenRoutingView::probeRow(int token) const { return sample_ * int(shown_->tokens.size()) + token; }

bool TokenRoutingView::tokenSelected(int token) const {
  if (token < 0 || !shown_) return false;
  return std::binary_search(selection_.begin(), selection_.end(), probeRow(token));
}

int TokenRoutingView::selectedProbeTokens() const {
  if (!routing_ || routing_->probeChosen.empty()) return 0;
  const int N = int(routing_->probeChosen.front().size());
  return int(std::lower_bound(selection_.begin(), selection_.end(), N) -
             std::lower_bound(selection_.begin(), selection_.end(), 0));
}

bool TokenRoutingView::showsRouting() const { return noteText().isEmpty(); }

QString TokenRoutingView::noteText() const {
  if (!routing_) return QStringLiteral("Token routing needs a Transformer model (model.kind transformer).");
  if (!problem_.empty()) return QStringLiteral("Token routing cannot be drawn: %1.").arg(QString::fromStdString(problem_));
  if (routing_->tokens.empty()) return QStringLiteral("Token routing: the sample sequence has no tokens yet.");
  return {};
}

QColor TokenRoutingView::tokenFill(int expert, float weight) {
  // Strength 0.3 at weight 0 keeps the hue recognisable for the weak top-1 gates of many experts.
  const double strength = 0.3 + 0.7 * std::clamp(double(weight), 0.0, 1.0);
  return mix(Qt::white, expertColor(expert), strength);
}

TokenRoutingView::Layout TokenRoutingView::layoutFor(const QSize& size) const {
  Layout lay;
  const int W = size.width(), H = size.height();
  if (!showsRouting()) {
    lay.noteRect = QRect(kMargin, kMargin, W - 2 * kMargin, H - 2 * kMargin);
    return lay;
  }
  const TokenRouting& r = *shown_;
  const int T = int(r.tokens.size()), L = r.layers;
  const int maxExperts = *std::max_element(r.experts.begin(), r.experts.end());
  const QFontMetrics textM(textFont()), smallM(smallFont()), cellM(cellFont()), titleM(titleFont());
  const int innerW = W - 2 * kMargin;
  int y = kMargin;

  // Title, and the buttons that browse the probe sequences at its right.
  const int browsable = sequenceCount();
  int titleW = innerW;
  if (browsable > 1) {
    const int b = titleM.height();
    lay.next = QRect(W - kMargin - b, y, b, b);
    lay.previous = lay.next.translated(-b - 4, 0);
    titleW = lay.previous.left() - 8 - kMargin;
  }
  const QString step = step_ >= 0 ? QStringLiteral(" · step %1").arg(step_) : QString();
  QString group;
  if (sample_ < int(r.sequenceGroup.size()) && r.sequenceGroup[size_t(sample_)] >= 0) {
    const int g = r.sequenceGroup[size_t(sample_)];
    const QString kind = groupKind_.isEmpty() ? QStringLiteral("group") : groupKind_;
    group = QStringLiteral(" · %1 %2").arg(kind, g < int(groupNames_.size()) ? QString::fromStdString(groupNames_[size_t(g)])
                                                                             : QString::number(g));
  }
  QStringList titles;
  if (browsable > 1) {
    const QString of = QStringLiteral("%1/%2").arg(sample_ + 1).arg(browsable);
    titles = {QStringLiteral("Token routing of probe sequence %1 of %2%3 (%4 tokens)%5")
                  .arg(sample_ + 1).arg(browsable).arg(group).arg(T).arg(step),
              QStringLiteral("Token routing · sequence %1%2%3").arg(of, group, step),
              QStringLiteral("Token routing · sequence %1%2").arg(of, group), QStringLiteral("Sequence %1%2").arg(of, group)};
  } else {
    titles = {QStringLiteral("Token routing of a sample sequence%1 (%2 tokens)%3").arg(group).arg(T).arg(step),
              QStringLiteral("Token routing%1 (%2 tokens)%3").arg(group).arg(T).arg(step)};
  }
  titles << QStringLiteral("Token routing");
  const QString title = firstThatFits(titles, titleFont(), titleW);
  lay.texts.push_back({QRect(kMargin, y, titleW, titleM.height()), title, titleFont(), kText});
  y += titleM.height() + 6;

  // Legend: groups that never break (a swatch and its label), wrapped to the width.
  {
    const int rowH = std::max(kSwatch, smallM.height()) + 4;
    int x = kMargin;
    auto place = [&](int width) {
      if (x > kMargin && x + width > W - kMargin) x = kMargin, y += rowH;
      const int at = x;
      x += width + 12;
      return at;
    };
    auto swatchTop = [&] { return y + (rowH - 4 - kSwatch) / 2; };
    auto label = [&](int x0, const QString& text) {
      lay.texts.push_back({QRect(x0, y, smallM.horizontalAdvance(text) + 2, rowH - 4), text, smallFont(), kText});
    };
    const QString heading = QStringLiteral("expert:");
    label(place(smallM.horizontalAdvance(heading)), heading);
    for (int e = 0; e < maxExperts; ++e) {
      const QString n = QString::number(e);
      const int x0 = place(kSwatch + 3 + smallM.horizontalAdvance(n));
      lay.swatches.push_back({QRect(x0, swatchTop(), kSwatch, kSwatch), e, 1.0f, false});
      label(x0 + kSwatch + 3, n);
    }
    const QString dropped = QStringLiteral("dropped");
    {
      const int x0 = place(kSwatch + 3 + smallM.horizontalAdvance(dropped));
      lay.swatches.push_back({QRect(x0, swatchTop(), kSwatch, kSwatch), -1, 0.0f, true});
      label(x0 + kSwatch + 3, dropped);
    }
    // The gate-weight ramp in expert 0's colour: "gate weight 0 ▢▢▢▢ 1".
    const QString rampLabel = QStringLiteral("gate weight 0"), rampEnd = QStringLiteral("1");
    const int ramp = 4;
    const int x0 = place(smallM.horizontalAdvance(rampLabel) + 3 + ramp * kSwatch + 3 + smallM.horizontalAdvance(rampEnd));
    label(x0, rampLabel);
    int sx = x0 + smallM.horizontalAdvance(rampLabel) + 3;
    for (int i = 0; i < ramp; ++i, sx += kSwatch)
      lay.swatches.push_back({QRect(sx, swatchTop(), kSwatch, kSwatch), 0, float(i) / (ramp - 1), false});
    label(sx + 3, rampEnd);
    y += rowH + 6;
  }

  // The sample sequence: lines of tokens, each line a block of L rows.
  const RoutingFlow& flow = shownFlow();
  const bool selected = selectionFlowShown();
  double counted = 0;  // probe tokens in the flow
  for (const auto& pair : flow)
    for (const auto& row : pair) counted += rowTotal(row);
  const bool flowDrawn = L >= 2 && counted > 0;
  {
    int labelW = 0;
    for (int l = 0; l < L; ++l) labelW = std::max(labelW, textM.horizontalAdvance(QStringLiteral("layer %1").arg(l + 1)));
    labelW += 8;
    // Cells as wide as their text (within limits), laid out like running text: a line holds
    // as many tokens as fit, then the sequence wraps.
    const int avail = std::max(1, innerW - labelW);
    std::vector<int> widths(static_cast<size_t>(T));
    for (int t = 0; t < T; ++t)
      widths[size_t(t)] = std::min(avail, std::clamp(cellM.horizontalAdvance(displayText(r.tokens[size_t(t)])) + 10, 22, 96));
    std::vector<int> lineStart = {0};
    for (int t = 0, x = 0; t < T; ++t) {
      if (x > 0 && x + widths[size_t(t)] > avail) lineStart.push_back(t), x = 0;
      x += widths[size_t(t)] + kCellGap;
    }
    const int lines = int(lineStart.size());
    lineStart.push_back(T);
    const int posH = smallM.height();
    // When the flow needs the room, cells shrink to the text's height, and only then are the last
    // lines left out.
    const int flowMin = flowDrawn ? 2 * textM.height() + 8 + QFontMetrics(panelTitleFont()).height() + 4 +
                                        smallM.height() + 5 + maxExperts * kMinFlowCell
                                  : textM.height() + kMargin;
    const int budget = H - kMargin - flowMin - kSectionGap - y;
    auto blockH = [&](int cellH) { return posH + 2 + L * (cellH + kCellGap) - kCellGap; };
    auto gridH = [&](int cellH, int n) { return n * blockH(cellH) + (n - 1) * kBlockGap; };
    const int minCellH = cellM.height() + 2;
    int cellH = cellM.height() + 6;
    if (gridH(cellH, lines) > budget)  // the largest cell height with which all lines fit
      cellH = std::max(minCellH, ((budget - (lines - 1) * kBlockGap) / lines - posH - 2 + kCellGap) / L - kCellGap);
    int shownLines = lines;
    while (shownLines > 1 && gridH(cellH, shownLines) > budget) --shownLines;
    lay.shownTokens = lineStart[size_t(shownLines)];

    lay.cells.assign(size_t(L), std::vector<QRect>(size_t(T)));
    for (int line = 0; line < shownLines; ++line) {
      const int top = y + line * (blockH(cellH) + kBlockGap);
      for (int t = lineStart[size_t(line)], x = kMargin + labelW; t < lineStart[size_t(line) + 1]; ++t) {
        const int w = widths[size_t(t)];
        // Positions over every cell they fit above, else over every fifth.
        if (smallM.horizontalAdvance(QString::number(t)) + 2 <= w || t % 5 == 0)
          lay.texts.push_back({QRect(x, top, std::max(w, smallM.horizontalAdvance(QString::number(t)) + 2), posH),
                               QString::number(t), smallFont(), kMuted, int(Qt::AlignHCenter | Qt::AlignBottom)});
        for (int l = 0; l < L; ++l) lay.cells[size_t(l)][size_t(t)] = QRect(x, top + posH + 2 + l * (cellH + kCellGap), w, cellH);
        x += w + kCellGap;
      }
      for (int l = 0; l < L; ++l)
        lay.texts.push_back({QRect(kMargin, top + posH + 2 + l * (cellH + kCellGap), labelW - 8, cellH),
                             QStringLiteral("layer %1").arg(l + 1), textFont(), kMuted, Qt::AlignRight | Qt::AlignVCenter});
    }
    y += gridH(cellH, shownLines);
    if (lay.shownTokens < T) {
      const QString more = QStringLiteral("first %1 of %2 tokens shown (enlarge the view for the rest)").arg(lay.shownTokens).arg(T);
      lay.texts.push_back({QRect(kMargin, y + 2, innerW, smallM.height()), more, smallFont(), kMuted});
      y += smallM.height() + 2;
    }
    if (hasSelection()) {
      int inSample = 0;
      for (int t = 0; t < T; ++t) inSample += tokenSelected(t) ? 1 : 0;
      const QString line = firstThatFits(
          {QStringLiteral("Selection (lasso in Representations): %1 of this sequence's %2 tokens (outlined)").arg(inSample).arg(T),
           QStringLiteral("Selection: %1 of %2 tokens (outlined)").arg(inSample).arg(T)},
          smallFont(), innerW);
      lay.texts.push_back({QRect(kMargin, y + 2, innerW, smallM.height()), line, smallFont(), kText});
      y += smallM.height() + 2;
    }
    y += kSectionGap;
  }

  // The flow between consecutive layers.
  if (!flowDrawn) {
    const QString why = L < 2      ? QStringLiteral("The layer-to-layer routing flow needs at least two MoE layers.")
                        : selected ? QStringLiteral("Routing flow: none of the selected tokens is a probe token routed at "
                                                    "two consecutive layers (clear the selection to see the whole probe).")
                                   : QStringLiteral("Routing flow: no probe tokens counted yet.");
    lay.texts.push_back({QRect(kMargin, y, innerW, std::max(textM.height(), H - kMargin - y)), why, textFont(), kMuted,
                         Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap});
    return lay;
  }
  const int barW = 70;
  const QString barLeft = QStringLiteral("0%"), barRight = QStringLiteral("100%");
  const int barBlock = smallM.horizontalAdvance(barLeft) + 4 + barW + 4 + smallM.horizontalAdvance(barRight);
  const QString sequences =
      selected ? QStringLiteral(" of the %1 selected probe tokens (lasso)").arg(selectedProbeTokens())
      : r.sequences == 1 ? QStringLiteral(" over 1 probe sequence")
      : r.sequences > 1  ? QStringLiteral(" over %1 probe sequences").arg(r.sequences)
                         : QString();
  // The longest explanation that takes at most two lines (the room the token grid left for it),
  // else the shortest cut to two lines.
  QString caption;
  for (const QString& text :
       {QStringLiteral("Routing flow%1. Row: an expert at layer l; cells: % of its tokens that go to each expert at "
                       "layer l+1; n: its tokens (tokens dropped at either layer are not counted).").arg(sequences),
        QStringLiteral("Routing flow%1: % of a row expert's tokens going to each expert of the next layer; "
                       "n = its tokens (dropped ones not counted).").arg(sequences),
        QStringLiteral("Routing flow%1: % of a row's tokens per next-layer expert").arg(sequences),
        QStringLiteral("Routing flow: % of a row's tokens per next-layer expert")}) {
    caption = wrapText(text, textFont(), innerW - barBlock - 16);
    if (caption.count('\n') < 2) break;
  }
  if (caption.count('\n') >= 2) {
    const QStringList lines = caption.split('\n');
    caption = lines[0] + '\n' +
              QFontMetrics(textFont()).elidedText(lines[1] + ' ' + lines[2], Qt::ElideRight, innerW - barBlock - 16);
  }
  const int captionH = textM.height() * int(caption.count('\n') + 1);
  lay.texts.push_back({QRect(kMargin, y, innerW - barBlock - 16, captionH), caption, textFont(), kText,
                       Qt::AlignLeft | Qt::AlignTop});
  {
    const int bx = W - kMargin - barBlock, by = y + (textM.height() - kSwatch) / 2;
    lay.texts.push_back({QRect(bx, y, smallM.horizontalAdvance(barLeft) + 2, textM.height()), barLeft, smallFont(), kText});
    lay.colorBar = QRect(bx + smallM.horizontalAdvance(barLeft) + 4, by, barW, kSwatch);
    lay.texts.push_back({QRect(lay.colorBar.right() + 5, y, smallM.horizontalAdvance(barRight) + 2, textM.height()), barRight,
                         smallFont(), kText});
  }
  y += captionH + 8;

  // Panels side by side when they fit, else in rows; the arrangement with the largest cells wins.
  const int pairs = L - 1;
  const QFontMetrics panelM(panelTitleFont());
  const int minHead = std::max(smallM.horizontalAdvance(QString::number(maxExperts - 1)) + 6, smallM.height() + 2);
  double maxCount = 0;
  for (const auto& pair : flow)
    for (const auto& row : pair) maxCount = std::max(maxCount, rowTotal(row));
  const int countW = std::max(smallM.horizontalAdvance(countText(maxCount)), smallM.horizontalAdvance("n")) + 8;
  const int areaH = H - kMargin - y;
  // The largest cell the panels allow with `cols` panels per row and expert headers `head` thick.
  auto cellFor = [&](int cols, int head) {
    const int rows = (pairs + cols - 1) / cols;
    const int pw = (innerW - (cols - 1) * kPanelGap) / cols;
    const int ph = (areaH - (rows - 1) * kPanelGap) / rows;
    int cell = kMaxFlowCell;
    for (int p = 0; p < pairs; ++p) {
      const int from = r.experts[size_t(p)], to = r.experts[size_t(p + 1)];
      cell = std::min({cell, (pw - head - 3 - countW) / to, (ph - panelM.height() - 4 - head - 3) / from});
    }
    return cell;
  };
  int cols = 1;
  for (int c = 2; c <= pairs; ++c)
    if (cellFor(c, minHead) >= cellFor(cols, minHead)) cols = c;
  // Headers grow with large cells (to half a cell), so they stay in proportion.
  int head = std::clamp(cellFor(cols, minHead) / 2, minHead, 24);
  const int cell = std::max(2, cellFor(cols, head));
  head = std::max(minHead, std::min(head, cell / 2));
  // Percentages in the largest of these sizes that fits the cells (none when too small): "100"
  // fits at all, and the common two digits with some room around them.
  int numberPixels = 0;
  for (int px : {12, 11, 10, 9}) {
    const QFontMetrics m(pixelFont(px));
    const int inner = cell - 1;
    if (m.horizontalAdvance(QStringLiteral("100")) <= inner && m.horizontalAdvance(QStringLiteral("88")) + px / 2 <= inner &&
        m.height() <= inner) {
      numberPixels = px;
      break;
    }
  }
  const int rows = (pairs + cols - 1) / cols;
  const int pw = (innerW - (cols - 1) * kPanelGap) / cols;
  const int ph = (areaH - (rows - 1) * kPanelGap) / rows;
  for (int p = 0; p < pairs; ++p) {
    const int from = r.experts[size_t(p)], to = r.experts[size_t(p + 1)];
    const int px = kMargin + (p % cols) * (pw + kPanelGap), py = y + (p / cols) * (ph + kPanelGap);
    const int matrixW = head + 3 + to * cell + countW;
    const int mx = px + std::max(0, (pw - matrixW) / 2);
    const QString panelTitle =
        firstThatFits({QStringLiteral("layer %1 → layer %2").arg(p + 1).arg(p + 2), QStringLiteral("%1 → %2").arg(p + 1).arg(p + 2)},
                      panelTitleFont(), pw);
    lay.texts.push_back({QRect(px, py, pw, panelM.height()), panelTitle, panelTitleFont(), kText, Qt::AlignCenter});
    Layout::Panel panel;
    panel.pair = p;
    panel.numberPixels = numberPixels;
    const int top = py + panelM.height() + 4;
    const int cx = mx + head + 3, cy = top + head + 3;
    for (int j = 0; j < to; ++j) panel.colHeads.push_back(QRect(cx + j * cell, top, cell - 1, head));
    lay.texts.push_back({QRect(cx + to * cell + 4, top, countW - 4, head), QStringLiteral("n"), smallFont(), kMuted});
    panel.cells.assign(size_t(from), {});
    for (int i = 0; i < from; ++i) {
      panel.rowHeads.push_back(QRect(mx, cy + i * cell, head, cell - 1));
      for (int j = 0; j < to; ++j) panel.cells[size_t(i)].push_back(QRect(cx + j * cell, cy + i * cell, cell - 1, cell - 1));
      panel.counts.push_back(QRect(cx + to * cell + 4, cy + i * cell, countW - 4, cell - 1));
    }
    lay.panels.push_back(std::move(panel));
  }
  return lay;
}

void TokenRoutingView::paint(QPainter& painter, const QSize& size, bool onScreen) const {
  painter.fillRect(QRect(QPoint(), size), Qt::white);
  const Layout lay = layoutFor(size);
  if (!showsRouting()) {
    painter.setFont(pixelFont(13));
    painter.setPen(kMuted);
    painter.drawText(lay.noteRect, Qt::AlignCenter | Qt::TextWordWrap, noteText());
    return;
  }
  const TokenRouting& r = *shown_;
  for (const Layout::Text& t : lay.texts) {
    painter.setFont(t.font);
    painter.setPen(t.color);
    painter.drawText(t.rect, t.flags, t.text);
  }
  if (onScreen && !lay.previous.isEmpty()) {
    const int count = sequenceCount();
    for (auto [rect, enabled, arrow] : {std::tuple{lay.previous, sample_ > 0, QStringLiteral("◀")},
                                        std::tuple{lay.next, sample_ + 1 < count, QStringLiteral("▶")}}) {
      painter.setPen(QPen(enabled ? kMuted : kEmptyRow, 1));
      painter.setBrush(enabled ? QColor(250, 250, 250) : QColor(Qt::white));
      painter.drawRoundedRect(QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5), 3, 3);
      painter.setFont(smallFont());
      painter.setPen(enabled ? kText : kEmptyRow);
      painter.drawText(rect, Qt::AlignCenter, arrow);
    }
  }
  auto dropped = [&](const QRect& rect) {
    painter.fillRect(rect, Qt::white);
    drawHatch(painter, rect, kHatch);
    painter.setPen(QPen(kMuted, 1, Qt::DashLine));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(rect.adjusted(0, 0, -1, -1));
  };
  for (const Layout::Swatch& s : lay.swatches) {
    if (s.dropped)
      dropped(s.rect);
    else
      painter.fillRect(s.rect, tokenFill(s.expert, s.weight));
  }

  // Token cells.
  painter.setFont(cellFont());
  const QFontMetrics cellM(cellFont());
  for (int l = 0; l < r.layers; ++l) {
    for (int t = 0; t < lay.shownTokens; ++t) {
      const QRect& rect = lay.cells[size_t(l)][size_t(t)];
      const int e = r.chosen[size_t(l)][size_t(t)];
      QColor ink = kMuted;
      // With a selection, the tokens outside it fade (as the routing heatmap's rows do).
      const bool faded = hasSelection() && !tokenSelected(t);
      if (e >= 0) {
        const QColor fill = tokenFill(e, r.weight[size_t(l)][size_t(t)]);
        painter.fillRect(rect, faded ? mix(fill, Qt::white, kFade) : fill);
        ink = faded ? kMuted : textOn(fill);
      } else {
        dropped(rect);
      }
      painter.setPen(ink);
      painter.drawText(rect, Qt::AlignCenter, cellM.elidedText(displayText(r.tokens[size_t(t)]), Qt::ElideRight, rect.width() - 4));
    }
  }
  for (int t = 0; t < lay.shownTokens; ++t) {
    if (!tokenSelected(t)) continue;
    const QRect column = lay.cells.front()[size_t(t)].united(lay.cells.back()[size_t(t)]);
    painter.setPen(QPen(kSelection, 2));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(column.adjusted(-1, -1, 0, 0));
  }
  if (onScreen && hoveredToken_ >= 0 && hoveredToken_ < lay.shownTokens) {
    const QRect column = lay.cells.front()[size_t(hoveredToken_)].united(lay.cells.back()[size_t(hoveredToken_)]);
    painter.setPen(QPen(kText, 2));
    painter.setBrush(Qt::NoBrush);
    painter.drawRect(column.adjusted(-1, -1, 0, 0));
  }

  // Flow heatmaps.
  const QFontMetrics smallM(smallFont());
  for (const Layout::Panel& panel : lay.panels) {
    const auto& counts = shownFlow()[size_t(panel.pair)];
    const auto& shares = shares_[size_t(panel.pair)];
    // Expert headers: the expert's colour with its number where it fits (larger on large headers).
    auto drawHead = [&](const QRect& rect, int expert) {
      const QColor c = expertColor(expert);
      painter.fillRect(rect, c);
      const QFont font = pixelFont(std::min(rect.width(), rect.height()) >= 20 ? 12 : 10);
      const QFontMetrics m(font);
      if (rect.width() < m.horizontalAdvance(QString::number(expert)) + 2 || rect.height() < m.height() - 2) return;
      painter.setFont(font);
      painter.setPen(textOn(c));
      painter.drawText(rect, Qt::AlignCenter, QString::number(expert));
    };
    for (size_t j = 0; j < panel.colHeads.size(); ++j) drawHead(panel.colHeads[j], int(j));
    for (size_t i = 0; i < panel.rowHeads.size(); ++i) {
      drawHead(panel.rowHeads[i], int(i));
      const double total = rowTotal(counts[i]);
      for (size_t j = 0; j < panel.cells[i].size(); ++j) {
        const QRect& rect = panel.cells[i][j];
        if (total <= 0) {
          painter.fillRect(rect, kEmptyRow);
          continue;
        }
        const QColor fill = shareColor(shares[i][j]);
        painter.fillRect(rect, fill);
        if (panel.numberPixels > 0 && counts[i][j] > 0) {  // empty cells stay blank, so the pattern stands out
          painter.setFont(pixelFont(panel.numberPixels));
          painter.setPen(textOn(fill));
          const double percent = shares[i][j] * 100;
          painter.drawText(rect, Qt::AlignCenter, percent < 0.5 ? QStringLiteral("<1") : QString::number(std::lround(percent)));
        }
      }
      if (panel.counts[i].height() >= smallM.height() - 2) {
        painter.setFont(smallFont());
        painter.setPen(kMuted);
        painter.drawText(panel.counts[i], Qt::AlignLeft | Qt::AlignVCenter, countText(total));
      }
    }
  }
  if (!lay.colorBar.isEmpty()) {
    QLinearGradient g(lay.colorBar.topLeft(), lay.colorBar.topRight());
    for (int i = 0; i <= 4; ++i) g.setColorAt(i / 4.0, shareColor(i / 4.0));
    painter.fillRect(lay.colorBar, g);
  }
}

void TokenRoutingView::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  paint(painter, size(), true);
}

void TokenRoutingView::paintFigure(QPainter& painter, const QSize& size) { paint(painter, size, false); }

std::pair<int, int> TokenRoutingView::cellAt(const Layout& lay, const QPoint& pos) const {
  for (size_t l = 0; l < lay.cells.size(); ++l)
    for (int t = 0; t < lay.shownTokens; ++t)
      if (lay.cells[l][size_t(t)].contains(pos)) return {int(l), t};
  return {-1, -1};
}

QString TokenRoutingView::tooltipAt(const QPoint& pos) const {
  if (!showsRouting()) return {};
  const Layout lay = layoutFor(size());
  const TokenRouting& r = *shown_;
  if (const auto [l, t] = cellAt(lay, pos); t >= 0) {
    QStringList route;
    for (int k = 0; k < r.layers; ++k) {
      const int e = r.chosen[size_t(k)][size_t(t)];
      route << (e >= 0 ? QString::number(e) : QStringLiteral("dropped"));
    }
    const int e = r.chosen[size_t(l)][size_t(t)];
    const QString head = QStringLiteral("token “%1” · position %2").arg(displayText(r.tokens[size_t(t)])).arg(t);
    QString choice = e >= 0 ? QStringLiteral("layer %1 · expert %2 · gate weight %3")
                                  .arg(l + 1).arg(e).arg(r.weight[size_t(l)][size_t(t)], 0, 'f', 3)
                            : QStringLiteral("layer %1 · dropped (over capacity or not routed)").arg(l + 1);
    // Top-k routing (or expert choice): every expert the token went to, with its gate weight.
    QStringList all;
    for (const RoutedChoice& c : choicesOf(r, l, probeRow(t)))
      if (c.expert >= 0)
        all << QStringLiteral("expert %1 (%2%3)").arg(c.expert).arg(c.weight, 0, 'f', 3).arg(c.kept ? "" : ", dropped");
    if (all.size() > 1) choice = QStringLiteral("layer %1 · %2").arg(l + 1).arg(all.join(QStringLiteral(" + ")));
    QString tip = head + "\n" + choice;
    if (r.layers > 1) tip += "\nexperts by layer: " + route.join(QStringLiteral(" → "));
    return tip;
  }
  if (lay.previous.contains(pos)) return QStringLiteral("Previous probe sequence (← or Page Up)");
  if (lay.next.contains(pos)) return QStringLiteral("Next probe sequence (→ or Page Down)");
  for (const Layout::Swatch& s : lay.swatches) {
    if (!s.rect.contains(pos)) continue;
    if (s.dropped) return QStringLiteral("Dropped: the token was over its expert's capacity or not routed at this layer");
    if (s.weight < 1) return QStringLiteral("A cell this pale: gate weight %1").arg(s.weight, 0, 'f', 2);
    return QStringLiteral("expert %1 (full colour = gate weight 1)").arg(s.expert);
  }
  for (const Layout::Panel& panel : lay.panels) {
    const int from = panel.pair + 1, to = panel.pair + 2;
    const auto& counts = shownFlow()[size_t(panel.pair)];
    for (size_t i = 0; i < panel.cells.size(); ++i) {
      const double total = rowTotal(counts[i]);
      if (panel.rowHeads[i].contains(pos) || panel.counts[i].contains(pos))
        return QStringLiteral("expert %1 at layer %2: %3 probe tokens also routed at layer %4")
            .arg(i).arg(from).arg(countText(total)).arg(to);
      for (size_t j = 0; j < panel.cells[i].size(); ++j) {
        if (!panel.cells[i][j].contains(pos)) continue;
        if (total <= 0) return QStringLiteral("expert %1 at layer %2 received no counted tokens").arg(i).arg(from);
        return QStringLiteral("layer %1 expert %2 → layer %3 expert %4\n%5 of %6 tokens (%7%)")
            .arg(from).arg(i).arg(to).arg(j).arg(countText(counts[i][j])).arg(countText(total))
            .arg(100.0 * counts[i][j] / total, 0, 'f', 1);
      }
    }
    for (size_t j = 0; j < panel.colHeads.size(); ++j) {
      if (!panel.colHeads[j].contains(pos)) continue;
      double in = 0;
      for (const auto& row : counts) in += row[j];
      return QStringLiteral("expert %1 at layer %2: receives %3 counted tokens from layer %4").arg(j).arg(to).arg(countText(in)).arg(from);
    }
  }
  return {};
}

void TokenRoutingView::mouseMoveEvent(QMouseEvent* event) {
  const QPoint pos = event->position().toPoint();
  int hovered = -1;
  if (showsRouting()) {
    hovered = cellAt(layoutFor(size()), pos).second;
  }
  if (hovered != hoveredToken_) {
    hoveredToken_ = hovered;
    update();
  }
  const QString tip = tooltipAt(pos);
  if (tip.isEmpty())
    QToolTip::hideText();
  else
    QToolTip::showText(event->globalPosition().toPoint(), tip, this);
}

void TokenRoutingView::mousePressEvent(QMouseEvent* event) {
  if (showsRouting() && event->button() == Qt::LeftButton) {
    const Layout lay = layoutFor(size());
    const QPoint pos = event->position().toPoint();
    if (lay.previous.contains(pos)) return setSampleSequence(sample_ - 1);
    if (lay.next.contains(pos)) return setSampleSequence(sample_ + 1);
    if (const int t = cellAt(lay, pos).second; t >= 0) {
      const int row = probeRow(t);
      QVector<int> rows;
      if (event->modifiers() & Qt::ControlModifier) {
        for (int r : selection_)
          if (r != row) rows << r;
        if (!tokenSelected(t)) rows << row;
      } else if (!(tokenSelected(t) && selection_.size() == 1)) {
        rows << row;
      }
      emit rowsPicked(rows);
      return;
    }
  }
  FigureView::mousePressEvent(event);
}

void TokenRoutingView::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Left:
    case Qt::Key_PageUp: return setSampleSequence(sample_ - 1);
    case Qt::Key_Right:
    case Qt::Key_PageDown: return setSampleSequence(sample_ + 1);
    case Qt::Key_Home: return setSampleSequence(0);
    case Qt::Key_End: return setSampleSequence(sequenceCount() - 1);
    default: FigureView::keyPressEvent(event);
  }
}

void TokenRoutingView::leaveEvent(QEvent*) {
  if (hoveredToken_ >= 0) {
    hoveredToken_ = -1;
    update();
  }
}

QRect TokenRoutingView::tokenCellRect(int layer, int token) const {
  if (!showsRouting()) return {};
  const Layout lay = layoutFor(size());
  if (layer < 0 || layer >= int(lay.cells.size()) || token < 0 || token >= lay.shownTokens) return {};
  return lay.cells[size_t(layer)][size_t(token)];
}

QRect TokenRoutingView::flowCellRect(int pair, int from, int to) const {
  if (!showsRouting()) return {};
  const Layout lay = layoutFor(size());
  for (const Layout::Panel& panel : lay.panels)
    if (panel.pair == pair && from >= 0 && from < int(panel.cells.size()) && to >= 0 &&
        to < int(panel.cells[size_t(from)].size()))
      return panel.cells[size_t(from)][size_t(to)];
  return {};
}

QString TokenRoutingView::titleText() const {
  if (!showsRouting()) return {};
  const Layout lay = layoutFor(size());
  return lay.texts.empty() ? QString() : lay.texts.front().text;
}

QRect TokenRoutingView::browseButton(bool next) const {
  if (!showsRouting()) return {};
  const Layout lay = layoutFor(size());
  return next ? lay.next : lay.previous;
}

int TokenRoutingView::shownTokens() const { return showsRouting() ? layoutFor(size()).shownTokens : 0; }

}  // namespace rl::ui
