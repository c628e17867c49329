#include "backend/cpu/cpu_backend.h"

#include <Eigen/Core>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "ops/op.h"

namespace rl {

// The ops run one after another on the calling thread (Eigen without OpenMP is single-threaded).
std::string CpuBackend::device() const {
  return "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION) + ", one thread";
}

void CpuBackend::load(const Program& program) {
  program_ = &program;
  arena_.assign(program.arenaWords, 0u);
}

void CpuBackend::run(const std::string& phase) {
  auto it = program_->phases.find(phase);
  if (it == program_->phases.end()) throw std::runtime_error("cpu backend: no phase '" + phase + "'");
  ArenaView view(*program_, arena_.data());
  for (const auto& op : it->second) op->runCpu(view);
}

std::vector<Backend::OpTiming> CpuBackend::profile(const std::string& phase, int reps) {
  std::vector<OpTiming> out;
  ArenaView view(*program_, arena_.data());
  for (const auto& op : program_->phases.at(phase)) {
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) op->runCpu(view);
    out.push_back({op->name(), std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps});
  }
  return out;
}

void CpuBackend::write(uint64_t offset, const void* src, uint64_t words) {
  if (offset + words > arena_.size()) throw std::out_of_range("cpu backend: write past arena");
  std::memcpy(arena_.data() + offset, src, words * 4);
}

void CpuBackend::read(uint64_t offset, void* dst, uint64_t words) const {
  if (offset + words > arena_.size()) throw std::out_of_range("cpu backend: read past arena");
  std::memcpy(dst, arena_.data() + offset, words * 4);
}

}  // namespace rl
