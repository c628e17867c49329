// Benchmark (not a test): per-op milliseconds of one training step of a preset on a backend,
// each op run alone. Usage: bench_ops [preset] [cpu|vulkan] [reps]
#include <algorithm>
#include <cstdio>
#include <string>

#include "spec/presets.h"
#include "train/session.h"

using namespace rl;

int main(int argc, char** argv) {
  const std::string preset = argc > 1 ? argv[1] : kDefaultPreset;
  const BackendChoice choice = parseBackendChoice(argc > 2 ? argv[2] : "vulkan");
  const int reps = argc > 3 ? std::max(1, std::atoi(argv[3])) : 50;
  Session s(loadPreset(preset), createBackend(choice));
  for (int i = 0; i < 5; ++i) s.step();  // realistic routing and warm pipelines
  auto& backend = const_cast<Backend&>(s.backend());
  auto timings = backend.profile("train", reps);
  double total = 0;
  for (const auto& t : timings) total += t.ms;
  std::printf("%s on %s (%s): %zu ops, sum %.3f ms\n", preset.c_str(), backend.name().c_str(), backend.device().c_str(),
              timings.size(), total);
  for (const auto& t : timings) std::printf("  %8.4f ms  %5.1f%%  %s\n", t.ms, 100.0 * t.ms / total, t.op.c_str());
  return 0;
}
