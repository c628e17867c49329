#include "run/input_map.h"

#include <algorithm>
#include <limits>

namespace rl::ui {

namespace {
void widen(const Dataset& d, InputMapExtent& e) {
  for (size_t r = 0; r < d.size(); ++r) {
    const float x = d.x[r * 2], y = d.x[r * 2 + 1];
    e.xMin = std::min<double>(e.xMin, x);
    e.xMax = std::max<double>(e.xMax, x);
    e.yMin = std::min<double>(e.yMin, y);
    e.yMax = std::max<double>(e.yMax, y);
  }
}
}  // namespace

InputMapExtent inputExtent(const DataSplit& data, double margin) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  InputMapExtent e{inf, -inf, inf, -inf};
  if (data.train.inputDim != 2) return {};
  widen(data.train, e);
  widen(data.test, e);
  if (!(e.xMin <= e.xMax)) return {};
  // A degenerate axis (all points on a line) still gets a visible width.
  const double w = std::max(e.xMax - e.xMin, 1e-3), h = std::max(e.yMax - e.yMin, 1e-3);
  return {e.xMin - margin * w, e.xMax + margin * w, e.yMin - margin * h, e.yMax + margin * h};
}

InputMap computeInputMap(Session& session, const InputMapExtent& extent, int resolution) {
  InputMap map;
  if (session.model().shape.inputDim != 2 || resolution <= 0 || !(extent.xMax > extent.xMin)) return map;
  const int cells = resolution * resolution;
  std::vector<float> x(static_cast<size_t>(cells) * 2);
  const double dx = (extent.xMax - extent.xMin) / resolution, dy = (extent.yMax - extent.yMin) / resolution;
  for (int j = 0; j < resolution; ++j)
    for (int i = 0; i < resolution; ++i) {
      x[(j * resolution + i) * 2] = static_cast<float>(extent.xMin + (i + 0.5) * dx);
      x[(j * resolution + i) * 2 + 1] = static_cast<float>(extent.yMin + (j + 0.5) * dy);
    }
  Probe p = session.predict(x, std::vector<int32_t>(cells, 0));

  map.resolution = resolution;
  map.xMin = extent.xMin;
  map.xMax = extent.xMax;
  map.yMin = extent.yMin;
  map.yMax = extent.yMax;
  for (const ProbeLayer& L : p.layers) {
    std::vector<int> top(cells);
    for (int c = 0; c < cells; ++c) {
      const float* probs = &L.probs[static_cast<size_t>(c) * L.experts];
      top[c] = static_cast<int>(std::max_element(probs, probs + L.experts) - probs);
    }
    map.topExpert.push_back(std::move(top));
  }
  const int out = session.model().shape.outputDim;
  if (session.model().shape.classify) {
    map.predictedClass.resize(cells);
    for (int c = 0; c < cells; ++c) {
      const float* y = &p.prediction[static_cast<size_t>(c) * out];
      map.predictedClass[c] = static_cast<int>(std::max_element(y, y + out) - y);
    }
  }
  map.prediction = std::move(p.prediction);
  return map;
}

}  // namespace rl::ui
