#include "ops/router_stats.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ops/routing_math.h"

namespace rl {

RouterStats::RouterStats(const Program& program, TensorId probs, TensorId h, TensorId idx, TensorId slot,
                         TensorId load, TensorId importance, TensorId scalars, StatsParams params)
    : probs_(probs), h_(h), idx_(idx), slot_(slot), load_(load), importance_(importance), scalars_(scalars),
      p_(params) {
  if (p_.N == 0 || p_.E == 0 || p_.k == 0)
    throw std::invalid_argument("router_stats: need N, E, k >= 1 (N " + std::to_string(p_.N) + ", E " +
                                std::to_string(p_.E) + ", k " + std::to_string(p_.k) + ")");
  bindings_ = {bind(program, probs), bind(program, h),          bind(program, idx),    bind(program, slot),
               bind(program, load),  bind(program, importance), bind(program, scalars)};
  name_ = "router_stats(" + program.info(scalars).name + ")";
}

void RouterStats::runCpu(const ArenaView& a) const {
  const uint32_t N = p_.N, E = p_.E, k = p_.k, choices = N * k;
  const float* probs = a.f(probs_);
  const float* h = a.f(h_);
  const int32_t* idx = a.i(idx_);
  const int32_t* slot = a.i(slot_);
  float* load = a.f(load_);
  float* importance = a.f(importance_);

  // Counts and column sums in the shader's per-expert order; load holds counts until divided.
  std::fill(load, load + E, 0.0f);
  std::fill(importance, importance + E, 0.0f);
  uint32_t dropped = 0;
  for (uint32_t c = 0; c < choices; ++c) {
    if (idx[c] >= 0 && uint32_t(idx[c]) < E) load[idx[c]] += 1.0f;
    dropped += slot[c] == -1;
  }
  for (uint32_t n = 0; n < N; ++n)
    for (uint32_t e = 0; e < E; ++e) importance[e] += probs[size_t(n) * E + e];
  double aux = 0.0;
  for (uint32_t e = 0; e < E; ++e) {
    load[e] /= float(choices);
    importance[e] /= float(N);
    aux += double(load[e]) * importance[e];
  }

  // Row log-sum-exps and entropies; the transcendentals run vectorised over the whole matrix.
  const size_t NE = size_t(N) * E;
  float* ex = routing::scratch(0, NE);
  float* rowMax = routing::scratch(1, N);
  float* rowSum = routing::scratch(2, N);
  routing::shiftedExp(h, N, E, ex, rowMax, rowSum);
  float* logp = routing::scratch(3, NE);
  Eigen::Map<Eigen::ArrayXf>(logp, Eigen::Index(NE)) = Eigen::Map<const Eigen::ArrayXf>(probs, Eigen::Index(NE)).log();
  double zSum = 0.0, entropySum = 0.0;
  for (uint32_t n = 0; n < N; ++n) {
    const float lse = rowMax[n] + std::log(rowSum[n]);
    zSum += double(lse) * lse;
    float ent = 0.0f;
    for (size_t i = size_t(n) * E; i < size_t(n + 1) * E; ++i)
      if (probs[i] > 0.0f) ent -= probs[i] * logp[i];
    entropySum += ent;
  }

  float* out = a.f(scalars_);
  out[0] = float(p_.auxCoef * double(E) * aux);
  out[1] = float(p_.zCoef * zSum / N);
  out[2] = float(entropySum / N);
  out[3] = float(dropped) / float(choices);
}

}  // namespace rl
