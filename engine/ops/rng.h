#pragma once
// Counter-based RNG shared bit-for-bit with shaders/common.glsl, so the CPU and Vulkan backends
// draw the same noise for (seed, step, stream, index) with no state to carry between steps.
#include <cmath>
#include <cstdint>

namespace rl::rng {

inline uint32_t hash(uint32_t x) {
  x ^= x >> 16; x *= 0x7feb352du;
  x ^= x >> 15; x *= 0x846ca68bu;
  x ^= x >> 16; return x;
}
inline uint32_t hash4(uint32_t seed, uint32_t step, uint32_t stream, uint32_t index) {
  return hash(seed ^ hash(step ^ hash(stream ^ hash(index))));
}
inline float uniform(uint32_t seed, uint32_t step, uint32_t stream, uint32_t index) {
  return static_cast<float>(hash4(seed, step, stream, index) >> 8) * (1.0f / 16777216.0f);
}

}  // namespace rl::rng
