#include "views/plot_style.h"

#include <QPainter>
#include <QPicture>
#include <array>
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

void stylePlot(QCustomPlot& plot) {
  plot.setBackground(Qt::white);
  plot.setNoAntialiasingOnDrag(true);
  plot.legend->setFont(plotFont(8));
  plot.legend->setBorderPen(QPen(QColor(200, 200, 200)));
  plot.legend->setBrush(QColor(255, 255, 255, 220));
  for (QCPAxisRect* r : plot.axisRects()) styleAxisRect(*r);
}

void paintPlotVector(QPainter& painter, QCustomPlot& plot, const QRect& target) {
  QPicture picture;
  QCPPainter recorder;
  if (!recorder.begin(&picture)) return;
  plot.toPainter(&recorder, target.width(), target.height());
  recorder.end();
  painter.save();
  painter.drawPicture(target.topLeft(), picture);
  painter.restore();
  // toPainter lays the plot out at the export size; lay it out again for the screen.
  plot.replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace rl::ui
