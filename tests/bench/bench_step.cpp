// Benchmark (not a test) for A/B comparisons on a busy machine: the Vulkan training step of a preset
// timed in short chunks, reporting the fastest chunk and the median chunk (other processes only ever
// add time, so the minimum is the steadiest figure), plus the recorded dispatch count.
// (preset: a built-in name or reference-64, bench_train's larger reference)
// Usage: bench_step [preset] [chunks] [steps per chunk]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/vulkan/vulkan_backend.h"
#include "reference_spec.h"
#include "spec/presets.h"
#include "train/session.h"

using namespace rl;

int main(int argc, char** argv) {
  const std::string preset = argc > 1 ? argv[1] : kDefaultPreset;
  const int chunks = argc > 2 ? std::max(1, std::atoi(argv[2])) : 30;
  const int perChunk = argc > 3 ? std::max(1, std::atoi(argv[3])) : 20;
  Session s(rlbench::benchSpec(preset), createBackend(BackendChoice::Vulkan));
  for (int i = 0; i < 20; ++i)
    if (!s.step().finite) {
      std::printf("%s: diverged during warm-up\n", preset.c_str());
      return 1;
    }
  std::vector<double> ms;
  for (int c = 0; c < chunks; ++c) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < perChunk; ++i) s.step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / perChunk);
  }
  std::sort(ms.begin(), ms.end());
  const auto* vk = dynamic_cast<const VulkanBackend*>(&s.backend());
  std::printf("%s vulkan: min %.3f  median %.3f ms/step over %d chunks of %d steps, %zu dispatches\n",
              preset.c_str(), ms.front(), ms[ms.size() / 2], chunks, perChunk, vk ? vk->dispatches("train") : 0);
  return 0;
}
