// regression_local: inputs uniform in [-1, 1]^2, one output, and a different simple function in
// each quadrant, discontinuous at the borders, so one smooth network struggles where local
// experts (one per region) do well. Region ids (the labels) and functions:
//   0: x0 <  0, x1 <  0   linear     0.5 + 0.8 x0 + 0.4 x1
//   1: x0 >= 0, x1 <  0   quadratic  1.5 x0^2 - 0.8
//   2: x0 <  0, x1 >= 0   sine       0.8 sin(2 pi x1)
//   3: x0 >= 0, x1 >= 0   linear     -0.3 - 0.6 x0 + 0.9 x1
// Noise: N(0, noise^2) added to the target (the inputs are exact).
#include <cmath>
#include <numbers>

#include "data/generators.h"

namespace rl {

namespace {

double regionFunction(int region, double x0, double x1) {
  switch (region) {
    case 0: return 0.5 + 0.8 * x0 + 0.4 * x1;
    case 1: return 1.5 * x0 * x0 - 0.8;
    case 2: return 0.8 * std::sin(2 * std::numbers::pi * x1);
    default: return -0.3 - 0.6 * x0 + 0.9 * x1;
  }
}

}  // namespace

Dataset makeRegressionLocal(int samples, double noise, SeededRandom& rng) {
  Dataset d;
  d.inputDim = 2;
  d.outputDim = 1;
  d.regression = true;
  d.classes = 4;
  d.classNames = {"linear (x0<0, x1<0)", "quadratic (x0>=0, x1<0)", "sine (x0<0, x1>=0)", "linear (x0>=0, x1>=0)"};
  for (int i = 0; i < samples; ++i) {
    const int region = i % 4;
    // Uniform inside the region's quadrant: [0, 1) or, as uniform() < 1, [-1, 0).
    const double x0 = (region & 1) ? rng.uniform() : -1.0 + rng.uniform();
    const double x1 = (region & 2) ? rng.uniform() : -1.0 + rng.uniform();
    d.x.push_back(static_cast<float>(x0));
    d.x.push_back(static_cast<float>(x1));
    d.label.push_back(region);
    d.target.push_back(static_cast<float>(regionFunction(region, x0, x1) + noise * rng.normal()));
  }
  return d;
}

}  // namespace rl
