// Benchmark (not a test): what each op of a preset's training step costs inside a recorded command
// buffer on Vulkan, where the per-dispatch overhead of a CPU implementation (lavapipe's thread pool)
// is paid but the submission's is not. Each op is recorded R times back to back (with the usual
// barriers) and the command buffer's time divided by R; the fastest of several runs is kept, since
// other processes only ever add time. The arena holds a real training state (after warm-up steps)
// and is restored before each op, so repeated accumulating ops do not drift.
// (preset: a built-in name or reference-64, bench_train's larger reference)
// Usage: bench_stream [preset] [R] [runs]   (R = 0: only the whole command buffer)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "backend/vulkan/arena.h"
#include "backend/vulkan/dispatcher.h"
#include "backend/vulkan/pipelines.h"
#include "backend/vulkan/recorder.h"
#include "backend/vulkan/vulkan_backend.h"
#include "ops/op.h"
#include "reference_spec.h"
#include "spec/presets.h"
#include "train/session.h"

using namespace rl;

namespace {

// CPU time of the whole process (the driver's worker threads included), in milliseconds: less
// disturbed than wall time by other processes on a busy machine.
double processCpuMs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-3;
}

struct Timing {
  double wallMs = 1e30;  // fastest run
  double cpuMs = 0;      // mean over the runs
};

Timing measure(const RecordedPhase& phase, int runs) {
  phase.run();  // compiles pipelines and warms caches
  Timing t;
  const double cpu0 = processCpuMs();
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    phase.run();
    t.wallMs = std::min(t.wallMs, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  t.cpuMs = (processCpuMs() - cpu0) / runs;
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string preset = argc > 1 ? argv[1] : kDefaultPreset;
  const int repeat = argc > 2 ? std::max(0, std::atoi(argv[2])) : 20;
  const int runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 15;
  Session s(rlbench::benchSpec(preset), createBackend(BackendChoice::Vulkan));
  for (int i = 0; i < 20; ++i) s.step();  // realistic routing (row-mask prefixes)
  const Program& program = s.model().program;
  std::vector<uint32_t> state(program.arenaWords);
  s.backend().read(0, state.data(), state.size());

  auto ctx = VulkanContext::create();
  const DeviceClass cls = ctx->info().isCpu ? DeviceClass::CpuImplementation : DeviceClass::Gpu;
  VulkanArena arena(ctx, program.arenaWords);
  PipelineCache pipelines(ctx);
  Dispatcher dispatcher(ctx, arena, pipelines);

  std::vector<const Op*> ops;
  for (const auto& op : program.phases.at("train")) ops.push_back(op.get());
  arena.write(0, state.data(), state.size());
  RecordedPhase whole(ctx, dispatcher, ops, cls);
  const Timing wholeT = measure(whole, runs);

  std::printf("%s train phase on %s: %zu dispatches, whole command buffer %.3f ms wall (fastest of %d), %.3f ms CPU (mean)\n",
              preset.c_str(), ctx->info().name.c_str(), whole.dispatches(), wholeT.wallMs, runs, wholeT.cpuMs);
  if (repeat == 0) return 0;  // R = 0: the whole command buffer only (quick A/B)
  std::printf("per op, recorded %d times in one command buffer (us per dispatch: fastest wall, mean CPU):\n", repeat);
  double sum = 0, cpuSum = 0;
  for (const Op* op : ops) {
    arena.write(0, state.data(), state.size());
    RecordedPhase repeated(ctx, dispatcher, std::vector<const Op*>(size_t(repeat), op), cls);
    const Timing t = measure(repeated, std::max(3, runs / 3));
    const double us = 1000.0 * t.wallMs / repeat, cpuUs = 1000.0 * t.cpuMs / repeat;
    sum += us;
    cpuSum += cpuUs;
    std::printf("  %8.1f %8.1f us  %s\n", us, cpuUs, op->name().c_str());
  }
  std::printf("sum of ops %.3f ms wall, %.3f ms CPU\n", sum / 1000.0, cpuSum / 1000.0);
  return 0;
}
