#pragma once
// FigureView: the base of every live view. A view draws only from RunSnapshots it is shown, and
// can write itself as PNG, SVG or PDF (context menu "Export as…", or File → Export all figures).
#include <QString>
#include <QWidget>

#include "run/run_snapshot.h"

class QPainter;

namespace rl::ui {

class FigureView : public QWidget {
  Q_OBJECT
 public:
  explicit FigureView(QWidget* parent = nullptr);

  // Dock title; also the file stem in "Export all figures" (made file-safe there).
  virtual QString title() const = 0;
  // Called at display rate with the latest snapshot (and once per single step).
  virtual void showSnapshot(const RunSnapshot& snapshot) = 0;

  // Writes the figure; the format follows the suffix (.png, .svg, .pdf). Returns an empty string
  // on success, else a sentence naming the file and the reason.
  QString exportFigure(const QString& path);

 protected:
  // Paints the figure at `size` for export. The default renders the widget as it is on screen;
  // QCustomPlot views override it with QCustomPlot::toPainter so SVG and PDF stay vector.
  virtual void paintFigure(QPainter& painter, const QSize& size);
  void contextMenuEvent(QContextMenuEvent* event) override;
  // Views add their own entries (e.g. "Rewind to step 300") before the export entries.
  virtual void addContextActions(class QMenu& menu, const QPoint& pos) {}
};

}  // namespace rl::ui
