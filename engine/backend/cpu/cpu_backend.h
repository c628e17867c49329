#pragma once
#include <Eigen/Core>

#include "backend/backend.h"

namespace rl {

// The Eigen reference: runs each op's runCpu() in order. It is the oracle for every test.
class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string device() const override;
  void load(const Program& program) override;
  void run(const std::string& phase) override;
  std::vector<OpTiming> profile(const std::string& phase, int reps) override;
  void write(uint64_t offsetWords, const void* src, uint64_t words) override;
  void read(uint64_t offsetWords, void* dst, uint64_t words) const override;

 private:
  const Program* program_ = nullptr;
  // Aligned to Eigen's widest packet: Eigen's kernels peel differently for unaligned data, which
  // changes summation order, so an unaligned arena would make results depend on the heap address.
  std::vector<uint32_t, Eigen::aligned_allocator<uint32_t>> arena_;
};

}  // namespace rl
