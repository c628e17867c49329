#include "tsne/trustworthiness.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tsne/neighbours.h"
#include "tsne/worker_pool.h"

namespace rl::tsne {

namespace {

// The k smallest (value, index) of row[0..n) except `self`, ascending (ties: lower index first).
void smallest(const float* row, size_t n, size_t self, size_t k, std::vector<std::pair<float, uint32_t>>& heap) {
  heap.clear();
  for (uint32_t j = 0; j < n; ++j) {
    if (j == self) continue;
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
  std::sort(heap.begin(), heap.end());
}

}  // namespace

double trustworthiness(const MatrixView& x, const MatrixView& y, int kArg, unsigned threads) {
  const size_t n = x.rows;
  if (y.rows != n)
    throw std::invalid_argument("trustworthiness: X has " + std::to_string(n) + " points but the embedding has " +
                                std::to_string(y.rows));
  if (kArg < 1 || 2 * size_t(kArg) >= n)
    throw std::invalid_argument("trustworthiness: k = " + std::to_string(kArg) + " needs 1 <= k < N / 2 = " +
                                std::to_string(n / 2.0));
  const size_t k = size_t(kArg), e = y.cols;
  WorkerPool pool(threads);
  std::vector<double> penalty(n, 0.0);
  forEachDistanceRow(x, pool, [&](size_t i, const float* dx) {
    thread_local std::vector<float> dy;
    thread_local std::vector<std::pair<float, uint32_t>> inputNearest, embedNearest;
    dy.resize(n);
    const float* yi = y.row(i);
    for (size_t j = 0; j < n; ++j) {
      const float* yj = y.row(j);
      float s = 0;
      for (size_t c = 0; c < e; ++c) s += (yi[c] - yj[c]) * (yi[c] - yj[c]);
      dy[j] = s;
    }
    smallest(dx, n, i, k, inputNearest);
    smallest(dy.data(), n, i, k, embedNearest);
    const std::pair<float, uint32_t> kth = inputNearest.back();
    double sum = 0;
    for (const auto& [dist, j] : embedNearest) {
      const std::pair<float, uint32_t> key{dx[j], j};
      if (!(kth < key)) continue;  // among the input's k nearest: no penalty
      // Rank of j among the input neighbours: 1 + points ordered before it (self excluded).
      size_t before = 0;
      for (uint32_t l = 0; l < n; ++l)
        if (l != i && std::pair<float, uint32_t>{dx[l], l} < key) ++before;
      sum += double(before + 1) - double(k);
    }
    penalty[i] = sum;
  });
  double total = 0;
  for (double p : penalty) total += p;
  const double nd = double(n), kd = double(k);
  return 1.0 - total * 2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0));
}

}  // namespace rl::tsne
