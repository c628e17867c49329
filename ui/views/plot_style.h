#pragma once
// One palette for every view, so expert 3 has the same colour in the load bars, the heatmap and
// the input-space map.
#include <QColor>
#include <QFont>
#include <QRect>
#include <QString>
#include <QStringList>

class QCPAxis;
class QCPAxisRect;
class QCPLegend;
class QCustomPlot;
class QPainter;

namespace rl::ui {

// Distinct colours for up to 12 experts (Tableau-like), then cycled with a lighter shade.
QColor expertColor(int expert);
// Class colours, distinct from expert colours where possible (points drawn over expert regions).
QColor classColor(int cls);
QFont plotFont(int pointSize = 9);

// The shared plot look: white background, light grid, dark-grey axes, plotFont() labels. Every
// axis of the plot's axis rects (at the time of the call) also gets its tick count fitted to its
// rect's height (vertical axes, see setVerticalAxisLabel) or width (horizontal axes: at most one
// interval per kPixelsPerHorizontalTick, room for labels like "20000") at each layout.
void stylePlot(QCustomPlot& plot);
void styleAxisRect(QCPAxisRect& rect);

// Vertical (left or right) axes follow their axis rect's height at every layout, on screen and in
// exports (QCustomPlot::afterLayout): the label is `full` when it fits the rect's height, else
// `shortLabel`, else `shortLabel` elided; the tick count is at most one interval per
// kPixelsPerTick pixels of height (at least 2 ticks, at most what the axis' ticker asked for). A short
// dock then shows "loss (log)" instead of letting "task loss (log scale)" run into the plot below.
// Labels given by QCPAxis::setLabel directly are left alone. Calling this again with the same
// texts costs two string compares; at each layout an axis whose rect height and ticker are
// unchanged costs a few compares.
inline constexpr int kPixelsPerTick = 32;
inline constexpr int kPixelsPerHorizontalTick = 60;
void setVerticalAxisLabel(QCPAxis& axis, const QString& full, const QString& shortLabel = QString());
// The label setVerticalAxisLabel registered as full (the axis' own label for other axes).
QString fullAxisLabel(const QCPAxis& axis);
// Runs QCustomPlot's layout phases again, for an afterLayout handler that changed what an element
// needs (legend columns, wrapped headings), then refits the vertical axes to the new heights.
void relayout(QCustomPlot& plot);

// Paints `plot` at target.size() into `target` on any painter. It records QCustomPlot::toPainter
// into a QPicture and replays it, so SVG and PDF painters receive vector paths and text.
void paintPlotVector(QPainter& painter, QCustomPlot& plot, const QRect& target);

// The plot at its on-screen size, drawn at `at` (widget pixels) for export: recorded as drawing
// commands and replayed, so SVG and PDF stay vector; the replay undoes the DPI scaling a QPicture
// applies on other devices (72 / 96 on an SVG generator), so the plot keeps its size everywhere.
void paintPlotAt(QPainter& painter, QCustomPlot& plot, const QPoint& at);

// While a run plays the plots redraw many times a second; without antialiasing their replots
// take about half the time (the default window's five plots: ~35 -> ~16 ms a frame, measured with
// routelab --measure). Paused plots and every export are antialiased.
void setLiveDrawing(QCustomPlot& plot, bool live);

// A legend laid out as rows outside the axis rects: as many columns (filled left to right) as fit
// in `width` pixels, so it wraps to more rows on a narrow dock instead of clipping its entries.
// Returns true when the arrangement changed (the caller's layout then needs a replot).
bool fitLegendColumns(QCPLegend& legend, int width);
// `text` broken into lines at spaces so every line fits `width` pixels in `font` (existing line
// breaks kept; a single word wider than `width` stays whole).
QString wrapText(const QString& text, const QFont& font, int width);
// Plot headings on a short plot: `text` with each of its lines elided to `width` pixels instead of
// wrapped, so a heading keeps one screen line per line of text.
QString elideLines(const QString& text, const QFont& font, int width);
// Plots shorter than this (pixels) are compact: headings elided instead of wrapped, notes left out,
// so the axis rects keep their room on a small screen (1280 x 800).
constexpr int kCompactPlotHeight = 220;
// The first of `candidates` (longest first) that fits `width` pixels in `font`, else the last.
QString firstThatFits(const QStringList& candidates, const QFont& font, int width);
// Index of the legend item under `pos` (widget pixels), or -1: for per-entry tooltips.
int legendItemAt(const QCPLegend& legend, const QPointF& pos);

}  // namespace rl::ui
