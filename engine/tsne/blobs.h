#pragma once
// Seeded Gaussian blobs like scikit-learn's make_blobs (centres uniform in [-10, 10]^D, unit
// standard deviation), the data t-SNE's tests and benchmark measure on. Labels are the blob index.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rl::tsne {

struct Blobs {
  size_t n = 0, dims = 0;
  std::vector<float> points;    // [N, D]
  std::vector<uint32_t> label;  // [N] blob of each point (points are dealt round-robin)
};

Blobs makeBlobs(size_t n, size_t dims, size_t centres, uint32_t seed, double spread = 1.0);

}  // namespace rl::tsne
