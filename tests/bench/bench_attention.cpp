// Benchmark (not a test): the fused attention core (engine/ops/attention.h), forward + backward,
// at the reference Transformer's shape (B=32 sequences, T=32, D=64, H=4), causal and
// bidirectional, on the CPU backend and on Vulkan. Validates Vulkan against the CPU result first,
// then times. Vulkan figures are per call inside one recorded command buffer (the op recorded R
// times back to back with the usual barriers, the command buffer's time divided by R: what a
// training step pays) and per single submission; the fastest of several runs is kept, since other
// processes only ever add time.
// Usage: bench_attention [B T D H] [runs]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/factory.h"
#include "seeded.h"
#include "ops/attention.h"

using namespace rl;
using rlbench::seeded;

namespace {

constexpr int kRepeat = 20;  // ops per command buffer for the in-stream figure

struct Rig {
  Program program;
  TensorId qkv, o, probs, lse, dout, dqkv;
  Rig(const AttentionParams& p) {
    const uint32_t N = p.batch * p.seq, D = p.heads * p.headDim;
    qkv = program.add("qkv", {N, 3 * D}, Role::Activation);
    o = program.add("o", {N, D}, Role::Activation);
    probs = program.add("probs", {p.batch, p.heads, p.seq, p.seq}, Role::Activation);
    lse = program.add("lse", {p.batch, p.heads, p.seq, 4}, Role::Activation);
    dout = program.add("dout", {N, D}, Role::Gradient);
    dqkv = program.add("dqkv", {N, 3 * D}, Role::Gradient);
    const std::string x = "_x" + std::to_string(kRepeat);
    for (const std::string suffix : {std::string(), x})
      for (int r = 0; r < (suffix.empty() ? 1 : kRepeat); ++r) {
        program.append("fwd" + suffix, std::make_unique<AttentionForward>(program, qkv, o, probs, lse, p));
        program.append("bwd" + suffix, std::make_unique<AttentionBackward>(program, qkv, o, probs, lse, dout, dqkv, p));
        program.append("step" + suffix, std::make_unique<AttentionForward>(program, qkv, o, probs, lse, p));
        program.append("step" + suffix, std::make_unique<AttentionBackward>(program, qkv, o, probs, lse, dout, dqkv, p));
      }
  }
};

// CPU time of the whole process (the driver's worker threads included), milliseconds: less
// disturbed than wall time by other processes on a busy machine.
double processCpuMs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-3;
}

struct Timing {
  double wallMs = 1e30;  // fastest run
  double cpuMs = 0;      // mean over the runs
  Timing operator/(double k) const { return {wallMs / k, cpuMs / k}; }
};

Timing fastest(Backend& be, const std::string& phase, int runs) {
  be.run(phase);  // warm-up: pipelines, caches
  Timing t;
  const double cpu0 = processCpuMs();
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    be.run(phase);
    t.wallMs = std::min(t.wallMs, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  t.cpuMs = (processCpuMs() - cpu0) / runs;
  return t;
}

double worstRelative(const std::vector<float>& a, const std::vector<float>& b) {
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double r = std::abs(double(a[i]) - b[i]) / (1e-5 + 1e-5 * std::abs(double(b[i])));
    w = std::isnan(r) ? INFINITY : std::max(w, r);
  }
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t B = 32, T = 32, D = 64, H = 4;
  int runs = 30;
  if (argc >= 5) {
    B = std::atoi(argv[1]);
    T = std::atoi(argv[2]);
    D = std::atoi(argv[3]);
    H = std::atoi(argv[4]);
  }
  if (argc >= 6) runs = std::max(1, std::atoi(argv[5]));
  if (H == 0 || D % H != 0 || (D / H) % 4 != 0) {
    std::fprintf(stderr, "bench_attention: D / H must be a whole multiple of 4 (D=%u, H=%u)\n", D, H);
    return 2;
  }
  std::unique_ptr<Backend> vk;
  try {
    vk = createBackend(BackendChoice::Vulkan).backend;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_attention: no Vulkan: %s\n", e.what());
  }
  std::printf("attention core B=%u T=%u D=%u H=%u (dh=%u); Vulkan: %s\n", B, T, D, H, D / H,
              vk ? vk->device().c_str() : "none");
  int status = 0;
  for (uint32_t causal : {0u, 1u}) {
    const AttentionParams p{B, T, H, D / H, causal, 0.f};
    Rig rig(p);
    const auto qkv = seeded(rig.program.info(rig.qkv).count, 1), dout = seeded(rig.program.info(rig.dout).count, 2);
    CpuBackend cpu;
    cpu.load(rig.program);
    cpu.writeTensor(rig.program, rig.qkv, qkv);
    cpu.writeTensor(rig.program, rig.dout, dout);
    cpu.run("step");
    const auto wantO = cpu.readTensor<float>(rig.program, rig.o), wantD = cpu.readTensor<float>(rig.program, rig.dqkv);
    const Timing cpuFwd = fastest(cpu, "fwd", runs), cpuBwd = fastest(cpu, "bwd", runs);
    const Timing cpuStep = fastest(cpu, "step", runs);
    std::printf("%s\n  cpu:    forward %.3f ms  backward %.3f ms  forward+backward %.3f ms (process CPU %.3f ms)\n",
                causal ? "causal" : "bidirectional", cpuFwd.wallMs, cpuBwd.wallMs, cpuStep.wallMs, cpuStep.cpuMs);
    if (!vk) continue;
    vk->load(rig.program);
    vk->writeTensor(rig.program, rig.qkv, qkv);
    vk->writeTensor(rig.program, rig.dout, dout);
    vk->run("step");
    const double errO = worstRelative(vk->readTensor<float>(rig.program, rig.o), wantO);
    const double errD = worstRelative(vk->readTensor<float>(rig.program, rig.dqkv), wantD);
    // Same bound as the parity test: |vk - cpu| <= 1e-5 (1 + |cpu|) at this shape, with margin.
    if (getenv("NOVAL") == nullptr && (errO > 10 || errD > 10)) {
      std::printf("  vulkan: MISMATCH against the CPU result (worst o %.2f, dqkv %.2f in units of 1e-5 (1+|x|))\n",
                  errO, errD);
      status = 1;
      continue;
    }
    const std::string x = "_x" + std::to_string(kRepeat);
    const Timing vFwd = fastest(*vk, "fwd" + x, runs) / kRepeat, vBwd = fastest(*vk, "bwd" + x, runs) / kRepeat;
    const Timing vStep = fastest(*vk, "step" + x, runs) / kRepeat;
    const Timing vSubmit = fastest(*vk, "step", runs);
    std::printf("  vulkan: forward %.3f ms  backward %.3f ms  forward+backward %.3f ms (process CPU %.3f ms) in a "
                "command buffer; %.3f ms as its own submission; matches cpu (worst o %.2f, dqkv %.2f x 1e-5 (1+|x|))\n",
                vFwd.wallMs, vBwd.wallMs, vStep.wallMs, vStep.cpuMs, vSubmit.wallMs, errO, errD);
  }
  return status;
}
