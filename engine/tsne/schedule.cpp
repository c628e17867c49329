#include "tsne/schedule.h"

#include <algorithm>

namespace rl::tsne {

Schedule scheduleFor(const TsneOptions& o, size_t n) {
  Schedule s;
  s.iterations = o.iterations;
  s.learningRate = o.learningRate > 0 ? o.learningRate : std::max(double(n) / 12.0, 200.0);
  s.exaggeration = o.earlyExaggeration;
  s.exaggerationIterations = std::min(o.exaggerationIterations, o.iterations);
  s.momentum = o.momentum;
  s.finalMomentum = o.finalMomentum;
  return s;
}

}  // namespace rl::tsne
