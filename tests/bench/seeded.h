#pragma once
// Reproducible benchmark inputs: n values uniform in [-1, 1) from a seeded generator.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace rlbench {

inline std::vector<float> seeded(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

}  // namespace rlbench
