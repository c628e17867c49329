#include "tsne/blobs.h"

#include <random>

namespace rl::tsne {

Blobs makeBlobs(size_t n, size_t dims, size_t centres, uint32_t seed, double spread) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> box(-10.0, 10.0);
  std::normal_distribution<double> noise(0.0, spread);
  std::vector<double> centre(centres * dims);
  for (auto& c : centre) c = box(gen);
  Blobs b;
  b.n = n;
  b.dims = dims;
  b.points.resize(n * dims);
  b.label.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = i % centres;
    b.label[i] = uint32_t(c);
    for (size_t d = 0; d < dims; ++d) b.points[i * dims + d] = float(centre[c * dims + d] + noise(gen));
  }
  return b;
}

}  // namespace rl::tsne
