#pragma once
// One palette for every view, so expert 3 has the same colour in the load bars, the heatmap and
// the input-space map.
#include <QColor>
#include <QFont>
#include <QRect>

class QCPAxisRect;
class QCustomPlot;
class QPainter;

namespace rl::ui {

// Distinct colours for up to 12 experts (Tableau-like), then cycled with a lighter shade.
QColor expertColor(int expert);
// Class colours, distinct from expert colours where possible (points drawn over expert regions).
QColor classColor(int cls);
QFont plotFont(int pointSize = 9);

// The shared plot look: white background, light grid, dark-grey axes, plotFont() labels.
void stylePlot(QCustomPlot& plot);
void styleAxisRect(QCPAxisRect& rect);
// Paints `plot` at target.size() into `target` on any painter. It records QCustomPlot::toPainter
// into a QPicture and replays it, so SVG and PDF painters receive vector paths and text.
void paintPlotVector(QPainter& painter, QCustomPlot& plot, const QRect& target);

}  // namespace rl::ui
