#include "tsne/cpu_tsne.h"

#include <cmath>

#include "tsne/grid_repulsion.h"

namespace rl::tsne {

double affinityEntropyTerm(const SparseAffinities& p) {
  double s = 0;
  for (float v : p.value)
    if (v > 0) s += double(v) * std::log(double(v));
  return s;
}

TsneResult runCpuIterations(const SparseAffinities& p, std::vector<float> yInit, const Schedule& schedule,
                            int reportEvery, const ProgressFn& progress, const std::atomic<bool>* cancel,
                            WorkerPool& pool) {
  const size_t n = p.n;
  std::vector<double> y(yInit.begin(), yInit.end());
  std::vector<double> attraction(2 * n), repulsion(2 * n), update(2 * n, 0.0), gains(2 * n, 1.0);
  std::vector<double> klPart(pool.threads(), 0.0);
  GridRepulsion grid(pool);
  const double entropyTerm = affinityEntropyTerm(p);

  TsneResult result;
  int it = 0;
  for (; it < schedule.iterations; ++it) {
    if (cancel && cancel->load(std::memory_order_relaxed)) {
      result.cancelled = true;
      break;
    }
    const bool report = reportEvery > 0 && ((it + 1) % reportEvery == 0 || it + 1 == schedule.iterations);
    // Attraction: sum_j p_ij q_ij (y_i - y_j); with `report`, also sum_j p_ij log(1 + d_ij^2) for KL.
    pool.forRange(n, [&](unsigned chunk, size_t begin, size_t end) {
      double kl = 0;
      for (size_t i = begin; i < end; ++i) {
        const double yi0 = y[2 * i], yi1 = y[2 * i + 1];
        double f0 = 0, f1 = 0;
        for (uint32_t e = p.rowStart[i]; e < p.rowStart[i + 1]; ++e) {
          const uint32_t j = p.col[e];
          const double d0 = yi0 - y[2 * j], d1 = yi1 - y[2 * j + 1];
          const double w = 1.0 / (1.0 + d0 * d0 + d1 * d1);
          const double pq = double(p.value[e]) * w;
          f0 += pq * d0;
          f1 += pq * d1;
          if (report) kl -= double(p.value[e]) * std::log(w);
        }
        attraction[2 * i] = f0;
        attraction[2 * i + 1] = f1;
      }
      klPart[chunk] = kl;
    });
    const double z = grid.compute(y.data(), n, repulsion.data());
    if (report) {
      double kl = entropyTerm + std::log(z);
      for (double v : klPart) kl += v;
      result.kl = kl;
    }
    const double exaggeration = schedule.exaggerationAt(it), momentum = schedule.momentumAt(it);
    const double lr = schedule.learningRate, invZ = 1.0 / z;
    pool.forRange(2 * n, [&](unsigned, size_t begin, size_t end) {
      for (size_t t = begin; t < end; ++t) {
        const double grad = exaggeration * attraction[t] - repulsion[t] * invZ;
        double gain = gains[t];
        gain = grad * update[t] < 0 ? gain + kGainUp : gain * kGainDown;  // sign change: speed up
        gains[t] = gain = std::max(gain, kMinGain);
        update[t] = momentum * update[t] - lr * gain * grad;
        y[t] += update[t];
      }
    });
    if (report && progress) progress({it + 1, schedule.iterations, result.kl});
  }
  result.iterations = it;
  result.embedding.assign(y.begin(), y.end());
  return result;
}

}  // namespace rl::tsne
