#include "views/plot_style.h"

#include <array>

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

}  // namespace rl::ui
