#include "tsne/vulkan_tsne.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "backend/vulkan/vulkan_backend.h"
#include "graph/program.h"
#include "ops/loop_budgeted_op.h"
#include "tsne/cpu_tsne.h"
#include "tsne/spatial_order.h"
#include "tsne/tsne_ops.h"

namespace rl::tsne {

namespace {

// Iterations per recorded command buffer: one submission (and one wait) per run of them. Between
// runs the host refreshes the spatial order and checks the cancel flag.
constexpr int kBlock = 10;

void appendIterations(Program& program, const std::string& phase, int count, const TsneTensors& t, uint32_t n,
                      float theta, uint32_t tile, const TsneUpdateParams& up) {
  for (int k = 0; k < count; ++k) {
    program.append(phase, std::make_unique<TsneBlocksOp>(program, t, n));
    program.append(phase, std::make_unique<TsneForcesOp>(program, t, n, theta, tile));
    program.append(phase, std::make_unique<TsneUpdateOp>(program, t, up));
  }
}

}  // namespace

TsneResult runVulkanIterations(const SparseAffinities& p, std::vector<float> yInit, const Schedule& schedule,
                               int reportEvery, const ProgressFn& progress, const std::atomic<bool>* cancel,
                               const std::string& deviceHint, double theta) {
  const uint32_t n = uint32_t(p.n);
  const PackedAffinities packed = packAffinities(p.rowStart, p.col, p.value);
  VulkanBackend backend(deviceHint);
  const uint32_t tile = backend.deviceClass() == DeviceClass::CpuImplementation ? 8 : 1;
  if (backend.deviceClass() == DeviceClass::CpuImplementation) {
    const uint64_t loops =
        tsneForcesLoopIterations(n, packed.rowTexels, tsneAttractionOrder(p.rowStart, tile), tile);
    if (loops > kLavapipeLoopLimit)
      throw std::runtime_error("t-SNE on Vulkan: " + std::to_string(n) + " points with rows of P this long need up to " +
                               std::to_string(loops) + " loop iterations in one shader invocation, more than " +
                               backend.device() + " runs (" + std::to_string(kLavapipeLoopLimit) +
                               "); use the CPU method");
  }

  Program program;
  const TsneTensors t = addTsneTensors(program, n, uint32_t(packed.texels.size() / 4));
  TsneUpdateParams up{};
  up.n = n;
  up.exaggerationIterations = uint32_t(std::max(schedule.exaggerationIterations, 0));
  up.exaggeration = float(schedule.exaggeration);
  up.momentum = float(schedule.momentum);
  up.finalMomentum = float(schedule.finalMomentum);
  up.learningRate = float(schedule.learningRate);
  appendIterations(program, "block", kBlock, t, n, float(theta), tile, up);
  appendIterations(program, "one", 1, t, n, float(theta), tile, up);
  backend.load(program);

  std::vector<float> y(program.info(t.y).count, kTsnePadCoordinate);
  std::copy(yInit.begin(), yInit.end(), y.begin());
  backend.writeTensor(program, t.y, y);
  writeTsneStatics(backend, program, t, n, p.rowStart, packed, tile);
  backend.writeTensor(program, t.gains, std::vector<float>(2 * n, 1.0f));
  // The blocks follow the points as they move: re-sorted from the current positions between runs.
  auto reorder = [&](const std::vector<float>& positions) {
    backend.writeTensor(program, t.order, spatialOrder(positions.data(), n, tsneOrderSizes()));
  };
  reorder(y);

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
    // KL (its logarithms) only in the last iteration before a report or the end.
    const bool klAfter = done + steps == schedule.iterations || (reportEvery > 0 && (done + steps) % reportEvery == 0);
    const uint32_t klIteration = klAfter ? uint32_t(done + steps - 1) : kTsneNoKl;
    backend.write(program.info(t.state).offset + 3, &klIteration, 1);
    if (steps == kBlock) {
      backend.run("block");
    } else {
      for (int s = 0; s < steps; ++s) backend.run("one");
    }
    done += steps;
    if (theta > 0 && done < schedule.iterations) reorder(backend.readTensor<float>(program, t.y));
    if (klAfter) {
      result.kl = klNow();
      if (progress && reportEvery > 0) progress({done, schedule.iterations, result.kl});
    }
  }
  result.iterations = done;
  y = backend.readTensor<float>(program, t.y);
  result.embedding.assign(y.begin(), y.begin() + 2 * n);
  result.device = "vulkan: " + backend.device() + (tile > 1 ? " (tile " + std::to_string(tile) + ")" : "");
  return result;
}

}  // namespace rl::tsne
