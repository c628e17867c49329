// bench_matmul: validates the Vulkan matmul variants against Eigen, then prints GFLOP/s for
// sizes on the ImageTiled variant, the SharedTiled variant and Eigen on the CPU.
// Usage: bench_matmul [--no-shared] [size | MxNxK ...]   (default 256 512 1024; a single number n
// means n x n x n: C[M,N] = At[K,M]^T . B[K,N]). Timing resubmits one
// recorded phase. --no-shared skips SharedTiled, which takes seconds per call on lavapipe.
#include <Eigen/Core>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/vulkan/vulkan_backend.h"
#include "ops/matmul.h"

using namespace rl;
using Clock = std::chrono::steady_clock;

namespace {

// Repeats fn until at least `budget` seconds have passed (at least once); returns seconds per call.
// Callers warm up first (pipeline compilation happens at the first dispatch).
template <class Fn>
double timePerCall(Fn fn, double budget) {
  int calls = 0;
  auto start = Clock::now();
  double elapsed = 0;
  do {
    fn();
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < budget);
  return elapsed / calls;
}

struct Problem {
  Program program;
  TensorId at, b, c;
  std::vector<float> atData, bData;
};

struct Shape {
  uint32_t m, n, k;
};

Problem makeProblem(Shape s, MatmulVariant variant) {
  Problem pr;
  pr.at = pr.program.add("At", {s.k, s.m}, Role::Input);
  pr.b = pr.program.add("B", {s.k, s.n}, Role::Input);
  pr.c = pr.program.add("C", {s.m, s.n}, Role::Output);
  pr.program.append("mm", std::make_unique<Matmul>(pr.program, pr.at, pr.b, pr.c, Matmul::Params{s.m, s.n, s.k, 0}, variant));
  std::mt19937 gen(s.m * 31 + s.n * 7 + s.k);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  pr.atData.resize(size_t(s.k) * s.m);
  pr.bData.resize(size_t(s.k) * s.n);
  for (auto& x : pr.atData) x = d(gen);
  for (auto& x : pr.bData) x = d(gen);
  return pr;
}

// Largest |vk - cpu| relative to sqrt(K) (the scale of a sum of K products of U(-1,1) values).
double validate(const Problem& pr, Backend& vk, uint32_t k) {
  CpuBackend cpu;
  cpu.load(pr.program);
  cpu.writeTensor(pr.program, pr.at, pr.atData);
  cpu.writeTensor(pr.program, pr.b, pr.bData);
  cpu.run("mm");
  auto want = cpu.readTensor<float>(pr.program, pr.c);
  auto got = vk.readTensor<float>(pr.program, pr.c);
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, double(std::abs(got[i] - want[i])));
  return worst / std::sqrt(double(k));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Shape> sizes;
  bool shared = true;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--no-shared") shared = false;
    else {
      unsigned m = 0, n = 0, k = 0;
      const int fields = std::sscanf(argv[i], "%ux%ux%u", &m, &n, &k);
      if (fields == 1) n = k = m;
      else if (fields != 3 || m == 0 || n == 0 || k == 0) {
        std::fprintf(stderr, "bench_matmul: '%s' is neither a size nor MxNxK\n", argv[i]);
        return 2;
      }
      sizes.push_back({m, n, k});
    }
  }
  if (sizes.empty()) sizes = {{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}};
  const double budget = 1.0;

  VulkanBackend vk;
  std::printf("device: %s\n", vk.device().c_str());
  std::printf("%16s  %-12s %10s %10s %12s\n", "MxNxK", "variant", "ms/call", "GFLOP/s", "max err/sqrtK");
  bool ok = true;
  for (Shape sh : sizes) {
    const double flop = 2.0 * sh.m * sh.n * sh.k;
    char name[48];
    std::snprintf(name, sizeof name, "%ux%ux%u", sh.m, sh.n, sh.k);
    for (auto variant : {MatmulVariant::ImageTiled, MatmulVariant::SharedTiled}) {
      if (variant == MatmulVariant::SharedTiled && !shared) continue;
      const char* label = variant == MatmulVariant::ImageTiled ? "ImageTiled" : "SharedTiled";
      Problem pr = makeProblem(sh, variant);
      vk.load(pr.program);
      vk.writeTensor(pr.program, pr.at, pr.atData);
      vk.writeTensor(pr.program, pr.b, pr.bData);
      vk.run("mm");
      double err = validate(pr, vk, sh.k);
      if (!(err < 1e-5)) ok = false;
      // The validation run above was the warm-up. SharedTiled is ~1 GFLOP/s on lavapipe: one
      // timed call is enough there.
      double sec = timePerCall([&] { vk.run("mm"); }, variant == MatmulVariant::ImageTiled ? budget : 0.0);
      std::printf("%16s  %-12s %10.3f %10.2f %12.2e%s\n", name, label, sec * 1e3, flop / sec * 1e-9, err,
                  err < 1e-5 ? "" : "  MISMATCH");
    }
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    RowMajor at = RowMajor::Random(sh.k, sh.m), b = RowMajor::Random(sh.k, sh.n), c(sh.m, sh.n);
    c.noalias() = at.transpose() * b;  // warm-up
    double sec = timePerCall([&] { c.noalias() = at.transpose() * b; }, budget);
    std::printf("%16s  %-12s %10.3f %10.2f\n", name, "Eigen (CPU)", sec * 1e3, flop / sec * 1e-9);
  }
  return ok ? 0 : 1;
}
