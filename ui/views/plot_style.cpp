#include "views/plot_style.h"

#include <QFontMetrics>
#include <QPainter>
#include <QPicture>
#include <QPointer>
#include <algorithm>
#include <array>
#include <vector>
#include <qcustomplot.h>

namespace rl::ui {

QColor expertColor(int expert) {
  static const std::array<QColor, 12> base = {
      QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),  QColor(214, 39, 40),
      QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127),
      QColor(188, 189, 34), QColor(23, 190, 207), QColor(57, 59, 121),  QColor(173, 73, 74)};
  const int n = static_cast<int>(base.size());
  const QColor c = base[static_cast<size_t>(((expert % n) + n) % n)];
  return expert < n ? c : c.lighter(100 + 25 * (expert / n));
}

QColor classColor(int cls) {
  static const std::array<QColor, 8> base = {QColor(0, 0, 0),       QColor(255, 255, 255),
                                             QColor(230, 25, 75),   QColor(255, 225, 25),
                                             QColor(0, 130, 200),   QColor(60, 180, 75),
                                             QColor(145, 30, 180),  QColor(245, 130, 48)};
  return base[static_cast<size_t>(((cls % 8) + 8) % 8)];
}

QFont plotFont(int pointSize) {
  QFont f("DejaVu Sans");
  f.setPointSize(pointSize);
  return f;
}

void styleAxisRect(QCPAxisRect& rect) {
  const QColor axis(90, 90, 90), grid(225, 225, 225), text(40, 40, 40);
  for (QCPAxis* a : rect.axes()) {
    a->setBasePen(QPen(axis));
    a->setTickPen(QPen(axis));
    a->setSubTickPen(QPen(axis));
    a->setTickLabelFont(plotFont(8));
    a->setTickLabelColor(text);
    a->setLabelFont(plotFont(9));
    a->setLabelColor(text);
    a->grid()->setPen(QPen(grid, 0, Qt::SolidLine));
    a->grid()->setZeroLinePen(Qt::NoPen);
  }
}

namespace {

void runLayoutPhases(QCustomPlot& plot) {
  for (auto phase : {QCPLayoutElement::upPreparation, QCPLayoutElement::upMargins, QCPLayoutElement::upLayout})
    plot.plotLayout()->update(phase);
}

// The axes of one plot and what they were last fitted to. One per plot: a child object
// found by its name (it has no meta-object of its own, so findChild by type would not tell it apart).
class AxisFitter : public QObject {
 public:
  static constexpr const char* kName = "rl_axis_fitter";

  static AxisFitter* of(QCustomPlot& plot) {
    return static_cast<AxisFitter*>(plot.findChild<QObject*>(kName, Qt::FindDirectChildrenOnly));
  }
  static AxisFitter& ensure(QCustomPlot& plot) {
    if (AxisFitter* f = of(plot)) return *f;
    return *new AxisFitter(plot);
  }

  struct Entry {
    QPointer<QCPAxis> axis;
    QString full, shortLabel;
    bool ownsLabel = false;  // set through setVerticalAxisLabel; else the view's label is kept
    int fittedLength = -1;   // the rect height (width for a horizontal axis) last fitted to; -1: fit at the next layout
    QSharedPointer<QCPAxisTicker> ticker;  // the ticker last fitted (views swap tickers)
    int maxTicks = 0;        // the tick count that ticker had before it was fitted
  };

  Entry& entry(QCPAxis& axis) {
    for (Entry& e : entries_)
      if (e.axis == &axis) return e;
    entries_.push_back(Entry{&axis});
    return entries_.back();
  }
  const Entry* find(const QCPAxis& axis) const {
    for (const Entry& e : entries_)
      if (e.axis == &axis) return &e;
    return nullptr;
  }

  // Fits every axis whose rect length or ticker changed since it was last fitted. Returns true
  // when a label or tick count changed, so the layout (tick label widths, margins) must run again.
  // Fits and lays out again until nothing changes: a vertical axis' new tick labels change the
  // rect's width, which a horizontal axis then follows (heights do not depend on widths).
  void fitAndLayOut(QCustomPlot& plot) {
    for (int pass = 0; pass < 3 && fit(); ++pass) runLayoutPhases(plot);
  }

  bool fit() {
    bool changed = false;
    for (Entry& e : entries_) {
      QCPAxis* axis = e.axis.data();
      if (!axis || !axis->visible()) continue;
      const bool vertical = axis->orientation() == Qt::Vertical;
      const int length = vertical ? axis->axisRect()->height() : axis->axisRect()->width();
      const QSharedPointer<QCPAxisTicker> ticker = axis->ticker();
      if (length == e.fittedLength && ticker == e.ticker) continue;
      if (ticker != e.ticker) e.ticker = ticker, e.maxTicks = ticker ? ticker->tickCount() : 0;
      e.fittedLength = length;
      if (e.ownsLabel) {
        const QString label = fittedLabel(e, axis->labelFont(), length);
        if (label != axis->label()) axis->setLabel(label), changed = true;
      }
      // A text ticker places its ticks itself; its tick count means nothing. A log ticker steps by
      // whole decades (count 2 over 2.4 decades: a tick per decade, 3 ticks), and a count of 1
      // still gives 2 ticks over two decades or more; a linear count of 1 may leave one tick.
      if (ticker && !dynamic_cast<QCPAxisTickerText*>(ticker.data())) {
        const int fewest = dynamic_cast<QCPAxisTickerLog*>(ticker.data()) ? 1 : 2;
        const int perTick = vertical ? kPixelsPerTick : kPixelsPerHorizontalTick;
        const int ticks = std::clamp(length / perTick, fewest, std::max(fewest, e.maxTicks));
        if (ticks != ticker->tickCount()) ticker->setTickCount(ticks), changed = true;
      }
    }
    return changed;
  }

 private:
  explicit AxisFitter(QCustomPlot& plot) : QObject(&plot) {
    setObjectName(kName);
    connect(&plot, &QCustomPlot::afterLayout, this, [this, &plot] { fitAndLayOut(plot); });
  }

  // The label is centred along the rect's side and not clipped, so it must fit in its length.
  static QString fittedLabel(const Entry& e, const QFont& font, int length) {
    const QFontMetrics metrics(font);
    const int room = length - 2;  // the painted glyphs may reach a pixel past the advance
    if (metrics.horizontalAdvance(e.full) <= room) return e.full;
    const QString& shorter = e.shortLabel.isEmpty() ? e.full : e.shortLabel;
    return metrics.elidedText(shorter, Qt::ElideRight, room);
  }

  std::vector<Entry> entries_;
};

}  // namespace

void stylePlot(QCustomPlot& plot) {
  plot.setBackground(Qt::white);
  plot.setNoAntialiasingOnDrag(true);
  plot.legend->setFont(plotFont(8));
  plot.legend->setBorderPen(QPen(QColor(200, 200, 200)));
  plot.legend->setBrush(QColor(255, 255, 255, 220));
  AxisFitter& fitter = AxisFitter::ensure(plot);
  for (QCPAxisRect* r : plot.axisRects()) {
    styleAxisRect(*r);
    for (QCPAxis* a : r->axes()) fitter.entry(*a);
  }
}

void setVerticalAxisLabel(QCPAxis& axis, const QString& full, const QString& shortLabel) {
  AxisFitter::Entry& e = AxisFitter::ensure(*axis.parentPlot()).entry(axis);
  if (e.ownsLabel && e.full == full && e.shortLabel == shortLabel) return;
  e.ownsLabel = true;
  e.full = full;
  e.shortLabel = shortLabel;
  e.fittedLength = -1;
  axis.setLabel(full);  // fitted at the next layout
}

QString fullAxisLabel(const QCPAxis& axis) {
  const AxisFitter* fitter = AxisFitter::of(*axis.parentPlot());
  const AxisFitter::Entry* e = fitter ? fitter->find(axis) : nullptr;
  return e && e->ownsLabel ? e->full : axis.label();
}

void relayout(QCustomPlot& plot) {
  runLayoutPhases(plot);
  if (AxisFitter* fitter = AxisFitter::of(plot)) fitter->fitAndLayOut(plot);
}

namespace {

// Exports are always drawn antialiased, even while a run plays (setLiveDrawing).
void recordAtFullQuality(QCPPainter& recorder, QCustomPlot& plot, int width, int height) {
  const QCP::AntialiasedElements live = plot.notAntialiasedElements();
  plot.setNotAntialiasedElements(QCP::aeNone);
  plot.toPainter(&recorder, width, height);
  plot.setNotAntialiasedElements(live);
}

}  // namespace

void paintPlotVector(QPainter& painter, QCustomPlot& plot, const QRect& target) {
  QPicture picture;
  QCPPainter recorder;
  if (!recorder.begin(&picture)) return;
  recordAtFullQuality(recorder, plot, target.width(), target.height());
  recorder.end();
  painter.save();
  painter.drawPicture(target.topLeft(), picture);
  painter.restore();
  // toPainter lays the plot out at the export size; lay it out again for the screen.
  plot.replot(QCustomPlot::rpQueuedReplot);
}

bool fitLegendColumns(QCPLegend& legend, int width) {
  // itemCount() counts grid cells, and a wrapped grid has empty ones (item() is null there).
  std::vector<int> widths;
  for (int i = 0; i < legend.itemCount(); ++i)
    if (const QCPAbstractLegendItem* item = legend.item(i)) widths.push_back(item->minimumOuterSizeHint().width());
  const int n = static_cast<int>(widths.size());
  if (n == 0) return false;
  const int frame = legend.margins().left() + legend.margins().right();
  int columns = 1;
  for (int c = n; c > 1; --c) {
    // Item i sits in column i % c (columns first); a column is as wide as its widest item.
    std::vector<int> columnWidth(size_t(c), 0);
    for (int i = 0; i < n; ++i) columnWidth[size_t(i % c)] = std::max(columnWidth[size_t(i % c)], widths[size_t(i)]);
    int total = frame + legend.columnSpacing() * (c - 1);
    for (int w : columnWidth) total += w;
    if (total <= width) {
      columns = c;
      break;
    }
  }
  if (legend.wrap() == columns && legend.fillOrder() == QCPLayoutGrid::foColumnsFirst &&
      legend.columnCount() == std::min(columns, n))
    return false;
  legend.setWrap(columns);
  legend.setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
  return true;
}

QString wrapText(const QString& text, const QFont& font, int width) {
  const QFontMetrics metrics(font);
  QStringList out;
  for (const QString& paragraph : text.split('\n')) {
    QString line;
    for (const QString& word : paragraph.split(' ')) {
      const QString longer = line.isEmpty() ? word : line + ' ' + word;
      if (!line.isEmpty() && metrics.horizontalAdvance(longer) > width) {
        out << line;
        line = word;
      } else {
        line = longer;
      }
    }
    out << line;
  }
  return out.join('\n');
}

QString elideLines(const QString& text, const QFont& font, int width) {
  const QFontMetrics metrics(font);
  QStringList out;
  for (const QString& line : text.split('\n')) out << metrics.elidedText(line, Qt::ElideRight, width);
  return out.join('\n');
}

QString firstThatFits(const QStringList& candidates, const QFont& font, int width) {
  const QFontMetrics metrics(font);
  for (const QString& c : candidates)
    if (metrics.horizontalAdvance(c) <= width) return c;
  return candidates.isEmpty() ? QString() : candidates.back();
}

int legendItemAt(const QCPLegend& legend, const QPointF& pos) {
  if (!legend.visible()) return -1;
  for (int i = 0; i < legend.itemCount(); ++i)
    if (const QCPAbstractLegendItem* item = legend.item(i); item && item->outerRect().contains(pos.toPoint())) return i;
  return -1;
}

void paintPlotAt(QPainter& painter, QCustomPlot& plot, const QPoint& at) {
  QPicture picture;
  QCPPainter recorder(&picture);
  recorder.setMode(QCPPainter::pmVectorized);
  recordAtFullQuality(recorder, plot, plot.width(), plot.height());
  recorder.end();
  painter.save();
  painter.translate(at);
  painter.scale(double(picture.logicalDpiX()) / painter.device()->logicalDpiX(),
                double(picture.logicalDpiY()) / painter.device()->logicalDpiY());
  painter.drawPicture(0, 0, picture);
  painter.restore();
}

void setLiveDrawing(QCustomPlot& plot, bool live) {
  plot.setNotAntialiasedElements(live ? QCP::aeAll : QCP::aeNone);
}

}  // namespace rl::ui
