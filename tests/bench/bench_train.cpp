// Benchmark (not a test): milliseconds per training step on each backend for the default preset
// and for a larger reference MoE (batch 1024 rows of d=64 through 8 experts 64→128→64, top-2).
// Usage: bench_train [steps]   — validates that the run trains (finite, loss falls), then times.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "reference_spec.h"
#include "spec/presets.h"
#include "train/session.h"

using namespace rl;

namespace {

void bench(const std::string& label, const Spec& spec, BackendChoice choice, int steps) {
  BackendSelection sel;
  try {
    sel = createBackend(choice);
  } catch (const std::exception& e) {
    std::printf("%-14s %-8s unavailable: %s\n", label.c_str(), choice == BackendChoice::Cpu ? "cpu" : "vulkan", e.what());
    return;
  }
  Session s(spec, std::move(sel));
  // Validate: a few warm-up steps must be finite and the loss must fall over the timed run.
  double first = 0;
  for (int i = 0; i < 10; ++i) {
    auto m = s.step();
    if (!m.finite) { std::printf("%s: diverged\n", label.c_str()); return; }
    if (i == 0) first = m.taskLoss;
  }
  auto t0 = std::chrono::steady_clock::now();
  double last = 0;
  for (int i = 0; i < steps; ++i) last = s.step().taskLoss;
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
  std::printf("%-14s %-8s %8.3f ms/step  (%6.0f steps/s)  loss %.3f -> %.3f  [%s]\n", label.c_str(),
              s.backend().name().c_str(), ms, 1000.0 / ms, first, last, s.backend().device().c_str());
  if (std::getenv("ROUTELAB_BENCH_PROFILE")) {  // per-op breakdown, each op run alone
    auto timings = const_cast<Backend&>(s.backend()).profile("train", 10);
    std::sort(timings.begin(), timings.end(), [](auto& a, auto& b) { return a.ms > b.ms; });
    for (size_t i = 0; i < std::min<size_t>(8, timings.size()); ++i)
      std::printf("    %8.3f ms  %s\n", timings[i].ms, timings[i].op.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::max(10, std::atoi(argv[1])) : 300;
  Spec def = loadPreset(kDefaultPreset);
  Spec ref = rlbench::referenceSpec();
  std::printf("bench_train: %d timed steps after 10 warm-up steps\n", steps);
  for (BackendChoice b : {BackendChoice::Cpu, BackendChoice::Vulkan}) bench("default", def, b, steps);
  for (BackendChoice b : {BackendChoice::Cpu, BackendChoice::Vulkan}) bench("reference-64", ref, b, std::max(10, steps / 5));
  return 0;
}
