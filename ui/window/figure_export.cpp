#include "window/figure_export.h"

#include <QCoreApplication>
#include <QDir>
#include <QProgressDialog>
#include <QRegularExpression>

#include "views/figure_view.h"

namespace rl::ui {

QString figureFileStem(const QString& title) {
  QString stem = title.toLower();
  stem.replace(QRegularExpression("[^a-z0-9]+"), "-");
  stem.remove(QRegularExpression("^-+|-+$"));
  return stem.isEmpty() ? QString("figure") : stem;
}

FigureExportResult exportFigures(const QList<FigureView*>& views, const QString& dir,
                                 QWidget* progressParent) {
  FigureExportResult result;
  if (!QDir().mkpath(dir)) {
    result.errors << QString("%1: could not create the folder").arg(dir);
    return result;
  }
  const QStringList formats = {"png", "svg", "pdf"};
  const int total = int(views.size() * formats.size());
  QProgressDialog* progress = nullptr;
  if (progressParent) {
    progress = new QProgressDialog("Exporting figures…", "Stop", 0, total, progressParent);
    progress->setWindowTitle("Export all figures");
    progress->setWindowModality(Qt::WindowModal);
    progress->setMinimumDuration(0);
    progress->setValue(0);
  }
  QStringList stemsUsed;
  int done = 0;
  for (FigureView* view : views) {
    // Two views with the same title must not overwrite each other.
    QString stem = figureFileStem(view->title());
    for (int n = 2; stemsUsed.contains(stem); ++n) stem = figureFileStem(view->title()) + QString("-%1").arg(n);
    stemsUsed << stem;
    for (const QString& format : formats) {
      if (progress) {
        if (progress->wasCanceled()) break;
        progress->setLabelText(QString("Writing %1.%2").arg(stem, format));
        QCoreApplication::processEvents(QEventLoop::ExcludeUserInputEvents);
      }
      const QString path = QDir(dir).filePath(stem + "." + format);
      const QString error = view->exportFigure(path);
      if (error.isEmpty()) {
        result.written << path;
      } else {
        result.errors << error;
      }
      if (progress) progress->setValue(++done);
    }
    if (progress && progress->wasCanceled()) {
      result.errors << "stopped before every figure was written";
      break;
    }
  }
  delete progress;
  return result;
}

}  // namespace rl::ui
