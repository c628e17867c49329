#include "tsne/spatial_order.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace rl::tsne {

namespace {

void split(const float* y, uint32_t* first, size_t count, size_t block) {
  if (count <= block) return;
  float lo[2] = {y[2 * first[0]], y[2 * first[0] + 1]}, hi[2] = {lo[0], lo[1]};
  for (size_t k = 1; k < count; ++k)
    for (int d = 0; d < 2; ++d) {
      lo[d] = std::min(lo[d], y[2 * first[k] + d]);
      hi[d] = std::max(hi[d], y[2 * first[k] + d]);
    }
  const int axis = hi[0] - lo[0] >= hi[1] - lo[1] ? 0 : 1;
  // The left part gets half the blocks (rounded up), so only the very last block can be partial.
  const size_t blocks = (count + block - 1) / block, left = (blocks + 1) / 2 * block;
  std::nth_element(first, first + left, first + count, [&](uint32_t a, uint32_t b) {
    const float ya = y[2 * a + axis], yb = y[2 * b + axis];
    return ya < yb || (ya == yb && a < b);
  });
  split(y, first, left, block);
  split(y, first + left, count - left, block);
}

}  // namespace

std::vector<uint32_t> spatialOrder(const float* y, size_t n, size_t block) {
  if (block == 0) throw std::invalid_argument("spatialOrder: block size 0");
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  split(y, order.data(), n, block);
  return order;
}

std::vector<uint32_t> spatialOrder(const float* y, size_t n, const std::vector<size_t>& sizes) {
  for (size_t l = 0; l < sizes.size(); ++l)
    if (sizes[l] == 0 || (l > 0 && sizes[l - 1] % sizes[l]))
      throw std::invalid_argument("spatialOrder: block sizes must be positive and each divide the one before");
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  for (size_t l = 0; l < sizes.size(); ++l) {
    const size_t run = l == 0 ? n : sizes[l - 1];  // split every run of the previous level
    for (size_t first = 0; first < n; first += run) split(y, order.data() + first, std::min(run, n - first), sizes[l]);
  }
  return order;
}

}  // namespace rl::tsne
