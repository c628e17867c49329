#pragma once
// Base of ops whose shader walks `items` work items with a grid-wide stride:
//   for (uint i = gl_GlobalInvocationID.x; i < items; i += gl_NumWorkGroups.x * gl_WorkGroupSize.x)
// so any grid computes the same result. A GPU gets one item per invocation; a CPU implementation
// of Vulkan (lavapipe, which pays per workgroup far more than per invocation) gets a grid capped at
// kStridedCpuClassWorkgroups and each invocation takes several items. Used by the Transformer ops
// (attention, layer_norm, token_embedding, positional_embedding, residual_add, mean_pool).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"

namespace rl {

constexpr uint32_t kStridedCpuClassWorkgroups = 8;

class StridedOp : public Op {
 public:
  StridedOp(const StridedOp&) = delete;  // the capped view refers back to this object
  StridedOp& operator=(const StridedOp&) = delete;

  std::string name() const override { return label_; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return push_; }
  Grid grid() const override { return {std::max(1u, ceilDiv(items_, localSize()))}; }
  const Op& forDevice(DeviceClass c) const override {
    return c == DeviceClass::CpuImplementation ? capped_ : static_cast<const Op&>(*this);
  }
  uint64_t items() const { return items_; }

 protected:
  explicit StridedOp(std::string label) : label_(std::move(label)), capped_(*this, kStridedCpuClassWorkgroups) {}

  // Called by the derived constructor once its parameters are checked.
  template <class P>
  void setup(const P& params, uint64_t items, std::vector<Binding> bindings) {
    push_ = pushWords(params);
    items_ = items;
    bindings_ = std::move(bindings);
  }

  std::string label_;

  // This op with its grid capped at `workgroups` (the shader's grid-stride loop still covers every
  // item): everything else forwards to the owner.
  class CappedGrid final : public Op {
   public:
    CappedGrid(const StridedOp& owner, uint32_t workgroups) : owner_(owner), workgroups_(workgroups) {}
    std::string name() const override { return owner_.name(); }
    std::string shader() const override { return owner_.shader(); }
    std::vector<Binding> bindings() const override { return owner_.bindings(); }
    std::vector<uint32_t> pushConstants() const override { return owner_.pushConstants(); }
    std::vector<uint32_t> specConstants() const override { return owner_.specConstants(); }
    uint32_t localSize() const override { return owner_.localSize(); }
    Grid grid() const override {
      Grid g = owner_.grid();
      g.x = std::min(g.x, workgroups_);
      return g;
    }
    void runCpu(const ArenaView& arena) const override { owner_.runCpu(arena); }
    std::vector<bool> texelBindings() const override { return owner_.texelBindings(); }

   private:
    const StridedOp& owner_;
    uint32_t workgroups_;
  };

 private:
  std::vector<Binding> bindings_;
  std::vector<uint32_t> push_;
  uint64_t items_ = 0;
  CappedGrid capped_;
};

}  // namespace rl
