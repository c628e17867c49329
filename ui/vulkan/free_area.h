#pragma once
// Where to fit the point cloud so that no point lies under an overlay panel: the rectangle of the
// viewport, clear of every panel, into which the data's bounds fit at the largest scale.
#include <QMarginsF>
#include <QRectF>
#include <QSizeF>
#include <vector>

namespace rl::ui {

// Insets (from the viewport's edges) of the rectangle clear of `panels` (each grown by `gap`) that
// holds a box of `dataSize`'s aspect at the largest scale. Candidates are spanned by the viewport's
// edges and the panels' edges (beside the panels, between a top and a bottom panel, ...).
// `previous` is kept while it is still clear and within 10 % of the best scale, so a cloud that
// changes its aspect while it glides does not jump between two near-equal places.
// Empty `panels` (or none inside the viewport) give zero insets.
QMarginsF insetsClearOf(const QSizeF& viewport, const std::vector<QRectF>& panels, const QSizeF& dataSize,
                        double gap, const QMarginsF& previous = QMarginsF());

}  // namespace rl::ui
