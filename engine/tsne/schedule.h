#pragma once
// The gradient-descent schedule both implementations follow, resolved from TsneOptions for N
// points: early exaggeration and the momentum switch, the automatic learning rate, and the
// delta-bar-delta gains of van der Maaten's implementation (+0.2 when the gradient changes sign
// against the last update, x0.8 otherwise, at least 0.01).
#include <cstddef>

#include "tsne/tsne.h"

namespace rl::tsne {

struct Schedule {
  int iterations = 0;
  double learningRate = 0;
  double exaggeration = 1;
  int exaggerationIterations = 0;
  double momentum = 0.5, finalMomentum = 0.8;

  double exaggerationAt(int iteration) const { return iteration < exaggerationIterations ? exaggeration : 1.0; }
  double momentumAt(int iteration) const { return iteration < exaggerationIterations ? momentum : finalMomentum; }
};

constexpr double kGainUp = 0.2, kGainDown = 0.8, kMinGain = 0.01;

Schedule scheduleFor(const TsneOptions& options, size_t n);

}  // namespace rl::tsne
