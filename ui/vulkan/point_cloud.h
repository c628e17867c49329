#pragma once
// PointCloud: what the VulkanView draws. Positions in data units (any range; the view fits them),
// any number of per-point attributes to colour by (expert at a layer, task, language, position,
// token id, …), and the caller's hover text.
#include <QColor>
#include <QString>
#include <functional>
#include <vector>

namespace rl::ui {

struct PointAttribute {
  // Categorical labels get the shared expert palette; ordinal ones (position, token id) a ramp.
  enum class Kind { Categorical, Ordinal };
  QString name;
  Kind kind = Kind::Categorical;
  std::vector<int> labels;          // one per point; a negative label means "none" (grey)
  std::vector<QString> labelNames;  // optional, index = label
  std::vector<QColor> colours;      // optional categorical palette, index = label (else experts')

  // Number of distinct label values: max(labelNames.size(), largest label + 1).
  int labelCount() const;
  QString labelName(int label) const;  // labelNames[label], else "<label>", "none" if negative
};

struct PointCloud {
  std::vector<float> xy;  // x0, y0, x1, y1, … (y points up)
  std::vector<PointAttribute> attributes;
  // Hover text of point i (token, context, gate probabilities…). Called on the GUI thread only
  // for the hovered point. Empty: the view lists the point's index and attribute labels.
  std::function<QString(int index)> describe;

  int size() const { return static_cast<int>(xy.size() / 2); }
  // Empty if consistent; else a sentence naming the first problem (odd xy, wrong label count,
  // non-finite coordinate).
  QString validate() const;
  QString describePoint(int index) const;
};

}  // namespace rl::ui
