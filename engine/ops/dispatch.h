#pragma once
// Dispatch: copy each token's features into the expert slots it was assigned (and back for the
// gradient). N tokens, D features, k choices per token, S = E*C expert slots.
//   forward:  xe[s,:] = x[slotAssign[s] / k, :], or 0 for an empty slot (slotAssign = -1)
//   backward: dx[n,:] (= or +=) sum_j (slot[n,j] >= 0 ? dxe[slot[n,j],:] : 0), j ascending
// Shaders: dispatch_forward.comp (slot rows, strided), dispatch_backward.comp (per token row): whole rows
// per invocation, since lavapipe's cost grows with the invocation count far more than with the work.
#include <algorithm>
#include <cstdint>
#include <memory>

#include "ops/op.h"

namespace rl {

struct DispatchParams {
  uint32_t N = 0, D = 0, S = 0, k = 0;  // S = E*C expert slots (not "slots": a Qt keyword macro)
  uint32_t accumulate = 0;  // backward only: 1 adds into dx (x fans out), 0 overwrites
};
static_assert(sizeof(DispatchParams) == 20);

// On CPU-class Vulkan the forward's grid is capped at this many workgroups and invocations stride
// over the slots (lavapipe pays per workgroup; S = E*C is mostly empty slots).
constexpr uint32_t kDispatchCpuClassWorkgroups = 4;

class DispatchForward final : public Op {
 public:
  DispatchForward(const Program& program, TensorId x, TensorId slotAssign, TensorId xe, DispatchParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "dispatch_forward"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override { return {std::max(1u, std::min(gridCap_, ceilDiv(p_.S, localSize())))}; }
  void runCpu(const ArenaView& arena) const override;
  const Op& forDevice(DeviceClass c) const override {
    return c == DeviceClass::CpuImplementation && cpuClass_ ? *cpuClass_ : *this;
  }

 private:
  TensorId x_, slotAssign_, xe_;
  DispatchParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
  uint32_t gridCap_ = ~0u;
  std::shared_ptr<const Op> cpuClass_;  // this op with a capped grid
};

class DispatchBackward final : public Op {
 public:
  DispatchBackward(const Program& program, TensorId dxe, TensorId slot, TensorId dx, DispatchParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "dispatch_backward"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override { return {ceilDiv(p_.N, localSize())}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dxe_, slot_, dx_;
  DispatchParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

}  // namespace rl
