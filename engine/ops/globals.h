#pragma once
// The "globals" tensor: a few words the host rewrites before every run, so a command buffer
// recorded once can still see the step counter (for RNG and Adam bias correction) and the
// current learning rate.
#include <cstdint>

namespace rl {
struct Globals {
  uint32_t step = 0;   // 1-based optimizer step being taken
  uint32_t seed = 0;   // run seed, for counter-based noise
  float lr = 0.f;      // current learning rate
  uint32_t train = 1;  // 1 while training (noise on), 0 for evaluation
};
static_assert(sizeof(Globals) == 16);
constexpr const char* kGlobalsTensor = "globals";
}  // namespace rl
