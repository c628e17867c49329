// The 2-D toy classification sets. Inputs lie roughly in [-1, 1]^2. Noise: circle, xor and
// gaussians add N(0, noise^2) to each coordinate; the spirals jitter each point's angle by
// N(0, noise^2) radians (so noise moves points along their ring, as in the CS231n spiral).
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "data/generators.h"

namespace rl {

namespace {

constexpr double kPi = std::numbers::pi;

// Arms start at radius 0.1 and wind 3/4 of a turn out to radius 1.
constexpr double kSpiralInnerRadius = 0.1;
constexpr double kSpiralTurns = 0.75;

struct Point {
  double x, y;
};

Point circlePoint(int cls, SeededRandom& rng) {
  // Uniform over the area: the disc r < 0.5 (class 0, "inside") or the ring 0.7 < r < 1 ("ring").
  const double r = cls == 0 ? 0.5 * std::sqrt(rng.uniform()) : std::sqrt(0.49 + 0.51 * rng.uniform());
  const double t = 2 * kPi * rng.uniform();
  return {r * std::cos(t), r * std::sin(t)};
}

Point xorPoint(int cls, SeededRandom& rng) {
  // Class 0: quadrants where x and y share a sign; class 1: where they differ.
  const double sx = rng.uniform() < 0.5 ? -1 : 1;
  const double sy = cls == 0 ? sx : -sx;
  return {sx * rng.uniform(), sy * rng.uniform()};
}

Point gaussianPoint(int cls, SeededRandom& rng) {
  // Isotropic blobs of standard deviation 0.3 centred at (-0.5, -0.5) and (0.5, 0.5).
  const double c = cls == 0 ? -0.5 : 0.5;
  return {c + 0.3 * rng.normal(), c + 0.3 * rng.normal()};
}

Point spiralPoint(int arm, int arms, double noise, SeededRandom& rng) {
  const double u = rng.uniform();
  const double r = kSpiralInnerRadius + (1 - kSpiralInnerRadius) * u;
  const double t = 2 * kPi * (double(arm) / arms + kSpiralTurns * u) + noise * rng.normal();
  return {r * std::cos(t), r * std::sin(t)};
}

}  // namespace

Dataset makeToy2d(const std::string& kind, int samples, double noise, SeededRandom& rng) {
  const bool spiralKind = kind == "spiral" || kind == "spiral4";
  const int classes = kind == "spiral4" ? 4 : 2;
  Dataset d;
  d.inputDim = 2;
  if (kind == "circle") d.classNames = {"inside", "ring"};
  else if (kind == "xor") d.classNames = {"same sign", "opposite sign"};
  else if (kind == "gaussians") d.classNames = {"blob -", "blob +"};
  else if (spiralKind) for (int c = 0; c < classes; ++c) d.classNames.push_back("arm " + std::to_string(c));
  else throw std::invalid_argument("not a 2-D toy kind: " + kind);

  d.x.reserve(2 * static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    const int cls = i % classes;
    Point p;
    if (kind == "circle") p = circlePoint(cls, rng);
    else if (kind == "xor") p = xorPoint(cls, rng);
    else if (kind == "gaussians") p = gaussianPoint(cls, rng);
    else p = spiralPoint(cls, classes, noise, rng);
    if (!spiralKind) {
      p.x += noise * rng.normal();
      p.y += noise * rng.normal();
    }
    d.x.push_back(static_cast<float>(p.x));
    d.x.push_back(static_cast<float>(p.y));
    d.label.push_back(cls);
  }
  setOneHotTargets(d, classes);
  return d;
}

}  // namespace rl
