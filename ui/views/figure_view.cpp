#include "views/figure_view.h"

#include <QContextMenuEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QMenu>
#include <QMessageBox>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>

namespace rl::ui {

FigureView::FigureView(QWidget* parent) : QWidget(parent) {}

void FigureView::paintFigure(QPainter& painter, const QSize& size) {
  // Widget-space rendering scaled to the requested size.
  const QSize own = this->size().isEmpty() ? size : this->size();
  painter.scale(double(size.width()) / own.width(), double(size.height()) / own.height());
  render(&painter, QPoint(), QRegion(), QWidget::DrawChildren);
}

QString FigureView::exportFigure(const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  const QSize size = this->size().isEmpty() ? QSize(800, 500) : this->size();
  // Render to a temporary file next to the target and rename it into place (atomic save).
  const QString temp = path + ".part";
  bool painted = false;
  if (suffix == "png") {
    QImage image(size * 2, QImage::Format_ARGB32);
    image.fill(Qt::white);
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.scale(2, 2);
    paintFigure(painter, size);
    painter.end();
    painted = image.save(temp, "PNG");
  } else if (suffix == "svg") {
    QSvgGenerator svg;
    svg.setFileName(temp);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(), size));
    svg.setTitle(title());
    QPainter painter;
    painted = painter.begin(&svg);
    if (painted) {
      paintFigure(painter, size);
      painted = painter.end();
    }
  } else if (suffix == "pdf") {
    QPdfWriter pdf(temp);
    pdf.setTitle(title());
    pdf.setResolution(96);
    pdf.setPageSize(QPageSize(QSizeF(size), QPageSize::Point));
    pdf.setPageMargins(QMarginsF());
    QPainter painter;
    painted = painter.begin(&pdf);
    if (painted) {
      // QPdfWriter's device is sized in its own resolution; fit the figure to it.
      const QRect page = painter.viewport();
      painter.scale(double(page.width()) / size.width(), double(page.height()) / size.height());
      paintFigure(painter, size);
      painted = painter.end();
    }
  } else {
    return QString("%1: unknown figure format \"%2\" (use .png, .svg or .pdf)").arg(path, suffix);
  }
  if (!painted) {
    QFile::remove(temp);
    return QString("%1: could not write the figure").arg(path);
  }
  QFile::remove(path);
  if (!QFile::rename(temp, path)) {
    QFile::remove(temp);
    return QString("%1: could not move the figure into place").arg(path);
  }
  return {};
}

void FigureView::contextMenuEvent(QContextMenuEvent* event) {
  QMenu menu(this);
  addContextActions(menu, event->pos());
  if (!menu.isEmpty()) menu.addSeparator();
  for (const QString& fmt : {QString("PNG"), QString("SVG"), QString("PDF")}) {
    menu.addAction(QString("Export as %1…").arg(fmt), this, [this, fmt] {
      const QString ext = fmt.toLower();
      const QString path = QFileDialog::getSaveFileName(this, QString("Export %1").arg(title()),
                                                        title() + "." + ext,
                                                        QString("%1 (*.%2)").arg(fmt, ext));
      if (path.isEmpty()) return;
      const QString err = exportFigure(path);
      if (!err.isEmpty()) QMessageBox::warning(this, "Export failed", err);
    });
  }
  menu.exec(event->globalPos());
}

}  // namespace rl::ui
