// Benchmark (not a test): milliseconds per training step on each backend for the default preset,
// a larger reference MoE (batch 1024 rows of d=64 through 8 experts 64→128→64, top-2) and the
// reference Transformer of issue 4 (vocabulary 64, sequence 32, d_model 64, 2 layers, 4 heads,
// 8 experts 64→128→64 GELU per layer, top-2 at capacity factor 1.25, batch 32 sequences, Adam;
// PyTorch 1.13 on the CPU: ~18 ms per step on this machine).
// Usage: bench_train [steps] [case]   — validates that the run trains (finite, loss falls), then
// times; case (default, reference-64, transformer) runs only the cases whose name contains it.
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

Spec referenceTransformerSpec() {
  Spec s;
  s.name = "transformer-ref";
  s.model.kind = ModelKind::Transformer;
  TransformerSpec& t = s.model.transformer;
  t.vocabulary = 64;
  t.sequenceLength = 32;
  t.dModel = 64;
  t.heads = 4;
  t.activation = Activation::Gelu;
  t.task = SequenceTask::Classification;
  TransformerLayerSpec L;
  L.experts = 8;
  L.expertWidth = 128;
  L.router.type = TokenRouterType::TokenChoice;
  L.router.k = 2;
  L.router.capacityFactor = 1.25;
  L.router.auxLossCoef = 0.01;
  t.layers = {L, L};
  s.data.kind = "multi_task";
  s.data.samples = 4000;
  s.data.vocabulary = 64;
  s.data.sequenceLength = 32;
  s.data.tasks = 5;
  s.data.noise = 0;
  s.train.batchSize = 32;
  s.train.learningRate = 1e-3;
  return s;
}

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
  // Also timed in chunks of kChunk steps: the fastest chunk's mean is the figure least disturbed by
  // other work on a shared machine (the overall mean includes every busy spell).
  constexpr int kChunk = 10;
  double bestChunk = 1e300;
  auto t0 = std::chrono::steady_clock::now(), chunkStart = t0;
  double last = 0;
  for (int i = 0; i < steps; ++i) {
    last = s.step().taskLoss;
    if ((i + 1) % kChunk == 0) {
      const auto now = std::chrono::steady_clock::now();
      bestChunk = std::min(bestChunk, std::chrono::duration<double, std::milli>(now - chunkStart).count() / kChunk);
      chunkStart = now;
    }
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
  std::printf("%-14s %-8s %8.3f ms/step  (%6.0f steps/s, fastest %d-step chunk %.3f ms/step)  loss %.3f -> %.3f  [%s]\n",
              label.c_str(), s.backend().name().c_str(), ms, 1000.0 / ms, kChunk, bestChunk, first, last,
              s.backend().device().c_str());
  if (const char* profile = std::getenv("ROUTELAB_BENCH_PROFILE")) {  // per-op breakdown, each op run alone
    auto timings = const_cast<Backend&>(s.backend()).profile("train", 10);
    std::sort(timings.begin(), timings.end(), [](auto& a, auto& b) { return a.ms > b.ms; });
    double total = 0;
    for (const auto& t : timings) total += t.ms;
    std::printf("    %8.3f ms  all %zu ops run alone\n", total, timings.size());
    const size_t shown = std::max(8, std::atoi(profile));  // ROUTELAB_BENCH_PROFILE=N: the N slowest
    for (size_t i = 0; i < std::min(shown, timings.size()); ++i)
      std::printf("    %8.3f ms  %s\n", timings[i].ms, timings[i].op.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::max(10, std::atoi(argv[1])) : 300;
  const std::string only = argc > 2 ? argv[2] : "";
  auto wanted = [&](const std::string& name) { return name.find(only) != std::string::npos; };
  std::printf("bench_train: %d timed steps after 10 warm-up steps\n", steps);
  if (wanted("default")) {
    Spec def = loadPreset(kDefaultPreset);
    for (BackendChoice b : {BackendChoice::Cpu, BackendChoice::Vulkan}) bench("default", def, b, steps);
  }
  if (wanted("reference-64")) {
    Spec ref = rlbench::referenceSpec();
    for (BackendChoice b : {BackendChoice::Cpu, BackendChoice::Vulkan}) bench("reference-64", ref, b, std::max(10, steps / 5));
  }
  if (wanted("transformer")) {
    Spec tf = referenceTransformerSpec();
    for (BackendChoice b : {BackendChoice::Cpu, BackendChoice::Vulkan}) bench("transformer-ref", tf, b, std::max(10, steps / 5));
  }
  return 0;
}
