#pragma once
// A StridedOp that respects lavapipe's loop limit. llvmpipe (Mesa's CPU Vulkan) ends every loop of a
// shader invocation once 65535 loop iterations have run in that invocation, counted over all its
// loops together (LP_MAX_TGSI_LOOP_ITERATIONS in gallivm), and says nothing: the rest of the work is
// silently skipped. A StridedOp caps its grid at kStridedCpuClassWorkgroups on CPU-class devices,
// so each invocation takes items / (8 · 64) work items; for large shapes that can pass the limit.
// This base widens the CPU-class grid just enough to keep every invocation under kLoopBudget
// iterations, and refuses (a clear exception when the Vulkan backend prepares the op) a shape where
// even one work item alone would pass it.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "ops/strided_op.h"

namespace rl {

constexpr uint64_t kLavapipeLoopLimit = 65535;
constexpr uint64_t kLoopBudget = 32768;  // half the limit: the per-item counts are estimates

class LoopBudgetedOp : public StridedOp {
 public:
  const Op& forDevice(DeviceClass c) const override {
    if (c != DeviceClass::CpuImplementation) return *this;
    if (!tooBig_.empty()) throw std::runtime_error(tooBig_);
    return wide_ ? static_cast<const Op&>(*wide_) : StridedOp::forDevice(c);
  }
  // The CPU-class grid's workgroups (for tests).
  uint32_t cpuClassWorkgroups() const { return forDevice(DeviceClass::CpuImplementation).grid().x; }

 protected:
  explicit LoopBudgetedOp(std::string label) : StridedOp(std::move(label)) {}

  // Call after setup(): iterationsPerItem = the most loop iterations one work item runs.
  void setLoopBudget(uint64_t iterationsPerItem) {
    iterationsPerItem = std::max<uint64_t>(iterationsPerItem, 1);
    if (iterationsPerItem >= kLavapipeLoopLimit) {
      tooBig_ = label_ + ": one work item runs about " + std::to_string(iterationsPerItem) +
                " loop iterations, past the " + std::to_string(kLavapipeLoopLimit) +
                " a CPU-class Vulkan device (lavapipe) allows per invocation; use the CPU backend or smaller sizes";
      return;
    }
    const uint64_t itemsPerInvocation = std::max<uint64_t>(1, kLoopBudget / iterationsPerItem);
    const uint32_t needed = ceilDiv(ceilDiv(items(), itemsPerInvocation), localSize());
    if (needed > kStridedCpuClassWorkgroups) wide_ = std::make_unique<CappedGrid>(*this, needed);
  }

 private:
  std::unique_ptr<CappedGrid> wide_;
  std::string tooBig_;
};

}  // namespace rl
