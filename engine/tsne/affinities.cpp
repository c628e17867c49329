#include "tsne/affinities.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace rl::tsne {

std::vector<float> conditionalAffinities(const Neighbours& nb, double perplexity, WorkerPool& pool) {
  const size_t n = nb.n, k = nb.k;
  const double target = std::log(perplexity);  // entropy in nats
  std::vector<float> p(n * k);
  pool.forRange(n, [&](unsigned, size_t begin, size_t end) {
    std::vector<double> row(k);
    for (size_t i = begin; i < end; ++i) {
      const float* d2 = &nb.dist2[i * k];
      // Distances relative to the nearest: the normalised Gaussian is unchanged and exp() cannot
      // underflow to an all-zero row for far-away points.
      const double d0 = d2[0];
      double beta = 1, lo = 0, hi = std::numeric_limits<double>::infinity();
      for (int step = 0; step < 100; ++step) {
        double sum = 0, weighted = 0;
        for (size_t m = 0; m < k; ++m) {
          const double dm = double(d2[m]) - d0;
          row[m] = std::exp(-dm * beta);
          sum += row[m];
          weighted += dm * row[m];
        }
        const double entropy = std::log(sum) + beta * weighted / sum;
        const double diff = entropy - target;
        if (std::abs(diff) <= 1e-5) break;
        if (diff > 0) {  // too flat: narrower Gaussian
          lo = beta;
          beta = std::isinf(hi) ? beta * 2 : (beta + hi) / 2;
        } else {
          hi = beta;
          beta = (beta + lo) / 2;
        }
      }
      double sum = 0;
      for (size_t m = 0; m < k; ++m) sum += row[m];
      for (size_t m = 0; m < k; ++m) p[i * k + m] = float(row[m] / sum);
    }
  });
  return p;
}

SparseAffinities symmetrise(const Neighbours& nb, const std::vector<float>& conditional) {
  const size_t n = nb.n, k = nb.k;
  // Each row gathers its own K entries and the entries that name it; duplicates (i in j's list and
  // j in i's) merge after sorting the row by column.
  std::vector<uint32_t> count(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    count[i + 1] += uint32_t(k);
    for (size_t m = 0; m < k; ++m) ++count[nb.index[i * k + m] + 1];
  }
  std::vector<uint32_t> start(n + 1, 0);
  std::partial_sum(count.begin(), count.end(), start.begin());
  std::vector<std::pair<uint32_t, float>> raw(start[n]);
  std::vector<uint32_t> fill(start.begin(), start.end() - 1);
  for (size_t i = 0; i < n; ++i)
    for (size_t m = 0; m < k; ++m) {
      const uint32_t j = nb.index[i * k + m];
      const float v = conditional[i * k + m];
      raw[fill[i]++] = {j, v};
      raw[fill[j]++] = {uint32_t(i), v};
    }
  SparseAffinities s;
  s.n = n;
  s.rowStart.assign(n + 1, 0);
  s.col.reserve(raw.size());
  s.value.reserve(raw.size());
  const double scale = 1.0 / (2.0 * double(n));
  for (size_t i = 0; i < n; ++i) {
    auto b = raw.begin() + start[i], e = raw.begin() + start[i + 1];
    std::sort(b, e, [](const auto& a, const auto& c) { return a.first < c.first; });
    for (auto it = b; it != e;) {
      double v = 0;
      const uint32_t j = it->first;
      for (; it != e && it->first == j; ++it) v += it->second;
      s.col.push_back(j);
      s.value.push_back(float(v * scale));
    }
    s.rowStart[i + 1] = uint32_t(s.col.size());
  }
  return s;
}

SparseAffinities affinities(const MatrixView& x, double perplexity, WorkerPool& pool) {
  const size_t k = std::min(x.rows - 1, size_t(std::floor(3 * perplexity)));
  Neighbours nb = nearestNeighbours(x, k, pool);
  return symmetrise(nb, conditionalAffinities(nb, perplexity, pool));
}

}  // namespace rl::tsne
