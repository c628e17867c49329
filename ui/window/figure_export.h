#pragma once
// File → Export all figures: every live view written to one folder as PNG, SVG and PDF.
#include <QList>
#include <QString>
#include <QStringList>

class QWidget;

namespace rl::ui {

class FigureView;

// A title made safe as a file stem ("Loss & accuracy" -> "loss-accuracy").
QString figureFileStem(const QString& title);

struct FigureExportResult {
  QStringList written;  // paths of the files written
  QStringList errors;   // one sentence per file that failed
};

// Writes <dir>/<stem>.{png,svg,pdf} for each view, creating dir if needed. With progressParent,
// shows a progress dialog (cancellable: files written so far stay).
FigureExportResult exportFigures(const QList<FigureView*>& views, const QString& dir,
                                 QWidget* progressParent = nullptr);

}  // namespace rl::ui
