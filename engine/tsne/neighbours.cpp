#include "tsne/neighbours.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace rl::tsne {

Neighbours nearestNeighbours(const MatrixView& x, size_t k, WorkerPool& pool) {
  const size_t n = x.rows, d = x.cols;
  if (k < 1 || k >= n)
    throw std::invalid_argument("nearest neighbours: k = " + std::to_string(k) + " needs 1 <= k < N = " + std::to_string(n));
  Neighbours out;
  out.n = n;
  out.k = k;
  out.index.resize(n * k);
  out.dist2.resize(n * k);
  forEachDistanceRow(x, pool, [&](size_t i, const float* row) {
    // Max-heap of the best k (distance, index) seen so far: most candidates fail one comparison.
    thread_local std::vector<std::pair<float, uint32_t>> heap;
    heap.clear();
    for (uint32_t j = 0; j < n; ++j) {
      if (j == i) continue;
      const std::pair<float, uint32_t> c{row[j], j};
      if (heap.size() < k) {
        heap.push_back(c);
        std::push_heap(heap.begin(), heap.end());
      } else if (c < heap.front()) {
        std::pop_heap(heap.begin(), heap.end());
        heap.back() = c;
        std::push_heap(heap.begin(), heap.end());
      }
    }
    // Exact squared distances for the chosen few (the product form cancels for nearby points).
    const float* xi = x.row(i);
    for (auto& [dist, j] : heap) {
      const float* xj = x.row(j);
      double s = 0;
      for (size_t c = 0; c < d; ++c) {
        const double t = double(xi[c]) - double(xj[c]);
        s += t * t;
      }
      dist = float(s);
    }
    std::sort(heap.begin(), heap.end());
    for (size_t m = 0; m < k; ++m) {
      out.index[i * k + m] = heap[m].second;
      out.dist2[i * k + m] = heap[m].first;
    }
  });
  return out;
}

}  // namespace rl::tsne
