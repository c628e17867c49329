#pragma once
// Small pieces shared by the routing ops' CPU references. The noise, softplus, sigmoid and top-k
// rules are twins of shaders/routing.glsl, so both backends compute the same thing; the rest
// (scratch, shifted exponentials) only make the CPU path fast.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/globals.h"
#include "ops/op.h"
#include "ops/rng.h"

namespace rl::routing {

// The globals tensor's words as a struct (step and seed select the noise, train switches it on).
inline Globals readGlobals(const ArenaView& arena, TensorId globals) {
  Globals g;
  std::memcpy(static_cast<void*>(&g), arena.i(globals), sizeof g);
  return g;
}

// Standard normal for element i of a (seed, step, stream) noise field, Box–Muller on two
// counter-based uniforms (indices 2i and 2i+1). 1 - u1 lies in (0, 1], so the log is finite.
inline float normalNoise(uint32_t seed, uint32_t step, uint32_t stream, uint32_t i) {
  const float u1 = rng::uniform(seed, step, stream, 2u * i);
  const float u2 = rng::uniform(seed, step, stream, 2u * i + 1u);
  return std::sqrt(-2.0f * std::log(1.0f - u1)) * std::cos(6.28318530717958647692f * u2);
}

// The same field for elements first .. first+n-1 into out, vectorised (tmp: n floats of scratch).
inline void normalNoise(uint32_t seed, uint32_t step, uint32_t stream, uint32_t first, size_t n, float* out,
                        float* tmp) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t index = first + uint32_t(i);
    out[i] = rng::uniform(seed, step, stream, 2u * index);
    tmp[i] = rng::uniform(seed, step, stream, 2u * index + 1u);
  }
  Eigen::Map<Eigen::ArrayXf> u1(out, Eigen::Index(n)), u2(tmp, Eigen::Index(n));
  u1 = (-2.0f * (1.0f - u1).log()).sqrt() * (6.28318530717958647692f * u2).cos();
}

// Per-thread scratch that only grows, so the hot path does not allocate: buffer `slot` (0..3)
// with room for at least n floats.
inline float* scratch(int slot, size_t n) {
  thread_local std::vector<float> buffers[4];
  std::vector<float>& b = buffers[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

// Row-wise shifted exponentials of an N x E matrix: out = exp(x - rowMax), rowSum = sum_e out;
// the exponentials run vectorised over the whole matrix.
inline void shiftedExp(const float* x, uint32_t N, uint32_t E, float* out, float* rowMax, float* rowSum) {
  for (uint32_t n = 0; n < N; ++n) {
    const float* r = x + size_t(n) * E;
    float m = r[0];
    for (uint32_t e = 1; e < E; ++e) m = std::max(m, r[e]);
    rowMax[n] = m;
    for (uint32_t e = 0; e < E; ++e) out[size_t(n) * E + e] = r[e] - m;
  }
  Eigen::Map<Eigen::ArrayXf> o(out, Eigen::Index(size_t(N) * E));
  o = o.exp();
  for (uint32_t n = 0; n < N; ++n) {
    float s = 0.0f;
    for (uint32_t e = 0; e < E; ++e) s += out[size_t(n) * E + e];
    rowSum[n] = s;
  }
}

// log(1 + e^x) without overflow for large x.
inline float softplus(float x) { return std::max(x, 0.0f) + std::log(1.0f + std::exp(-std::abs(x))); }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// Top-k by repeated selection with no scratch memory: choice j is the best element strictly
// ranked below choice j-1, where a ranks above b if value(a) > value(b), or equal values and
// a < b (ties go to the lower index). value(e) for e in [0, E); writes k indices to out.
template <class Value>
inline void selectTopK(uint32_t E, uint32_t k, Value value, int32_t* out) {
  int32_t prev = -1;
  float prevV = std::numeric_limits<float>::infinity();
  for (uint32_t j = 0; j < k; ++j) {
    int32_t best = -1;
    float bestV = -std::numeric_limits<float>::infinity();
    for (uint32_t e = 0; e < E; ++e) {
      const float v = value(e);
      const bool below = prev < 0 || v < prevV || (v == prevV && int32_t(e) > prev);
      if (below && (best < 0 || v > bestV)) {
        best = int32_t(e);
        bestV = v;
      }
    }
    out[j] = best;
    prev = best;
    prevV = bestV;
  }
}

}  // namespace rl::routing
