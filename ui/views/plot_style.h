#pragma once
// One palette for every view, so expert 3 has the same colour in the load bars, the heatmap and
// the input-space map.
#include <QColor>
#include <QFont>

namespace rl::ui {

// Distinct colours for up to 12 experts (Tableau-like), then cycled with a lighter shade.
QColor expertColor(int expert);
// Class colours, distinct from expert colours where possible (points drawn over expert regions).
QColor classColor(int cls);
QFont plotFont(int pointSize = 9);

}  // namespace rl::ui
