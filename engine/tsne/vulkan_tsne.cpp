#include "tsne/vulkan_tsne.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "backend/vulkan/vulkan_backend.h"
#include "graph/program.h"
#include "tsne/cpu_tsne.h"
#include "tsne/tsne_ops.h"

namespace rl::tsne {

namespace {

// Iterations per recorded command buffer: one submission (and one wait) per block, few enough that
// cancellation stays prompt (a block of 10 at N = 10,000 is ~0.2 s on lavapipe).
constexpr int kBlock = 10;

void appendIterations(Program& program, const std::string& phase, int count, const TsneTensors& t, uint32_t n,
                      uint32_t tile, const TsneUpdateParams& up) {
  for (int k = 0; k < count; ++k) {
    program.append(phase, std::make_unique<TsneForcesOp>(program, t, n, tile));
    program.append(phase, std::make_unique<TsneUpdateOp>(program, t, up));
  }
}

}  // namespace

TsneResult runVulkanIterations(const SparseAffinities& p, std::vector<float> yInit, const Schedule& schedule,
                               int reportEvery, const ProgressFn& progress, const std::atomic<bool>* cancel,
                               const std::string& deviceHint) {
  const uint32_t n = uint32_t(p.n), entries = uint32_t(p.entries());
  VulkanBackend backend(deviceHint);
  const uint32_t tile = backend.deviceClass() == DeviceClass::CpuImplementation ? 8 : 1;

  Program program;
  const TsneTensors t = addTsneTensors(program, n, entries);
  TsneUpdateParams up{};
  up.n = n;
  up.exaggerationIterations = uint32_t(std::max(schedule.exaggerationIterations, 0));
  up.exaggeration = float(schedule.exaggeration);
  up.momentum = float(schedule.momentum);
  up.finalMomentum = float(schedule.finalMomentum);
  up.learningRate = float(schedule.learningRate);
  appendIterations(program, "block", kBlock, t, n, tile, up);
  appendIterations(program, "one", 1, t, n, tile, up);
  backend.load(program);

  std::vector<float> y(program.info(t.y).count, kTsnePadCoordinate);
  std::copy(yInit.begin(), yInit.end(), y.begin());
  backend.writeTensor(program, t.y, y);
  backend.writeTensor(program, t.rowStart, p.rowStart);
  backend.writeTensor(program, t.col, p.col);
  backend.writeTensor(program, t.pval, p.value);
  backend.writeTensor(program, t.gains, std::vector<float>(2 * n, 1.0f));

  const double entropyTerm = affinityEntropyTerm(p);
  auto klNow = [&] {
    const auto state = backend.readTensor<float>(program, t.state);
    return entropyTerm + double(state[2]) + std::log(double(state[1]));
  };

  TsneResult result;
  int done = 0;
  while (done < schedule.iterations) {
    if (cancel && cancel->load(std::memory_order_relaxed)) {
      result.cancelled = true;
      break;
    }
    // Up to the next report (or the end), in blocks, then single iterations.
    int target = schedule.iterations;
    if (reportEvery > 0) target = std::min(target, (done / reportEvery + 1) * reportEvery);
    const int steps = std::min(target - done, kBlock);
    if (steps == kBlock) {
      backend.run("block");
    } else {
      for (int s = 0; s < steps; ++s) backend.run("one");
    }
    done += steps;
    if (reportEvery > 0 && (done % reportEvery == 0 || done == schedule.iterations)) {
      result.kl = klNow();
      if (progress) progress({done, schedule.iterations, result.kl});
    }
  }
  if (done > 0 && reportEvery <= 0) result.kl = klNow();
  result.iterations = done;
  y = backend.readTensor<float>(program, t.y);
  result.embedding.assign(y.begin(), y.begin() + 2 * n);
  result.device = "vulkan: " + backend.device() + (tile > 1 ? " (tile " + std::to_string(tile) + ")" : "");
  return result;
}

}  // namespace rl::tsne
