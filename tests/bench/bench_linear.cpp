// Benchmark (not a test): one linear layer's forward and fused backward (engine/ops/linear.h) on
// Vulkan at the reference Transformer's shapes, validated against the CPU backend first. Each op
// is recorded R times back to back in one command buffer (what a training step pays per op) and
// the fastest of several runs is kept, since other processes only ever add time.
// Usage: bench_linear [G M I O ...]   (default: the reference Transformer's attention in_proj
// 1x1024x64x192, out_proj 1x1024x64x64, expert fc1 8x256x64x128 and fc2 8x256x128x64)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/vulkan/vulkan_backend.h"
#include "seeded.h"
#include "ops/linear.h"

using namespace rl;
using rlbench::seeded;

namespace {

constexpr int kRepeat = 20;  // ops per command buffer

struct Rig {
  Program program;
  TensorId x, w, b, z, dy, dx, dw, db;
  explicit Rig(const LinearParams& p) {
    x = program.add("x", {p.groups, p.rows, p.in}, Role::Input);
    w = program.add("w", {p.groups, p.out, p.in}, Role::Param);
    b = program.add("b", {p.groups, p.out}, Role::Param);
    z = program.add("z", {p.groups, p.rows, p.out}, Role::Activation);
    dy = program.add("dy", {p.groups, p.rows, p.out}, Role::Gradient);
    dx = program.add("dx", {p.groups, p.rows, p.in}, Role::Gradient);
    dw = program.add("dw", {p.groups, p.out, p.in}, Role::Gradient);
    db = program.add("db", {p.groups, p.out}, Role::Gradient);
    for (int r = 0; r <= kRepeat; ++r) {  // once in "fwd" / "bwd", kRepeat times in "fwd_x" / "bwd_x"
      const std::string suffix = r == 0 ? "" : "_x";
      program.append("fwd" + suffix, std::make_unique<LinearForward>(program, x, w, b, z, z, p));
      program.append("bwd" + suffix, std::make_unique<LinearBackward>(program, dy, dy, x, w, dx, dw, db, p,
                                                                         kNoRowMask, GradWrite::Overwrite));
    }
  }
};

void fill(Backend& be, const Rig& rig, const LinearParams& p) {
  const size_t G = p.groups;
  be.writeTensor(rig.program, rig.x, seeded(G * p.rows * p.in, 1));
  be.writeTensor(rig.program, rig.w, seeded(G * p.out * p.in, 2));
  be.writeTensor(rig.program, rig.b, seeded(G * p.out, 3));
  be.writeTensor(rig.program, rig.dy, seeded(G * p.rows * p.out, 4));
}

double worstDiff(Backend& a, Backend& b, const Rig& rig, TensorId t) {
  auto x = a.readTensor<float>(rig.program, t), y = b.readTensor<float>(rig.program, t);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, double(std::abs(x[i] - y[i])));
  return worst;
}

// Milliseconds per op: the fastest of `runs` submissions of kRepeat back-to-back ops.
double perOp(Backend& be, const std::string& phase, int runs) {
  double best = 1e300;
  be.run(phase);  // compile and warm up
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    be.run(phase);
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best / kRepeat;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<LinearParams> shapes;
  for (int i = 1; i + 3 < argc; i += 4)
    shapes.push_back({uint32_t(std::atoi(argv[i])), uint32_t(std::atoi(argv[i + 1])), uint32_t(std::atoi(argv[i + 2])),
                      uint32_t(std::atoi(argv[i + 3])), 0, 0, 1, 0});
  if (shapes.empty())
    shapes = {{1, 1024, 64, 192, 0, 0, 1, 0}, {1, 1024, 64, 64, 0, 0, 1, 0}, {8, 256, 64, 128, 0, 0, 1, 0},
              {8, 256, 128, 64, 0, 0, 1, 0}};
  VulkanBackend vk;
  std::printf("device: %s\n%18s %10s %10s %10s %10s %10s\n", vk.device().c_str(), "GxMxIxO", "fwd ms", "GFLOP/s",
              "bwd ms", "GFLOP/s", "max diff");
  int status = 0;
  for (const LinearParams& p : shapes) {
    Rig rig(p);
    CpuBackend cpu;
    cpu.load(rig.program);
    vk.load(rig.program);
    fill(cpu, rig, p);
    fill(vk, rig, p);
    for (const char* phase : {"fwd", "bwd"}) {
      cpu.run(phase);
      vk.run(phase);
    }
    double diff = 0;
    for (TensorId t : {rig.z, rig.dx, rig.dw, rig.db}) diff = std::max(diff, worstDiff(cpu, vk, rig, t));
    if (!(diff < 1e-3)) status = 1;
    const double flop = 2.0 * p.groups * p.rows * p.in * p.out;
    const double fwd = perOp(vk, "fwd_x", 10), bwd = perOp(vk, "bwd_x", 10);
    char name[64];
    std::snprintf(name, sizeof name, "%ux%ux%ux%u", p.groups, p.rows, p.in, p.out);
    std::printf("%18s %10.3f %10.1f %10.3f %10.1f %10.2e%s\n", name, fwd, flop / fwd * 1e-6, bwd, 2 * flop / bwd * 1e-6,
                diff, diff < 1e-3 ? "" : "  MISMATCH");
  }
  return status;
}
