#pragma once
// Test helper: an op pinned to the variant a device class would run (Op::forDevice), so lavapipe
// (a CPU-class device) can also run and parity-test the GPU-class variant, and vice versa.
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"

namespace rltest {

class PinnedVariant final : public rl::Op {
 public:
  PinnedVariant(std::unique_ptr<rl::Op> op, rl::DeviceClass c) : owner_(std::move(op)), op_(owner_->forDevice(c)) {}
  std::string name() const override { return op_.name(); }
  std::string shader() const override { return op_.shader(); }
  std::vector<rl::Binding> bindings() const override { return op_.bindings(); }
  std::vector<uint32_t> pushConstants() const override { return op_.pushConstants(); }
  std::vector<uint32_t> specConstants() const override { return op_.specConstants(); }
  uint32_t localSize() const override { return op_.localSize(); }
  rl::Grid grid() const override { return op_.grid(); }
  void runCpu(const rl::ArenaView& arena) const override { op_.runCpu(arena); }
  std::vector<bool> texelBindings() const override { return op_.texelBindings(); }

 private:
  std::unique_ptr<rl::Op> owner_;
  const rl::Op& op_;
};

}  // namespace rltest
