#pragma once
// Combine: mix each token's expert outputs with its gate weights, and the two backward halves.
// N tokens, D features, k choices per token, S = E*C expert slots.
//   forward:          y[n,:]   = sum_j wt[n,j] * oe[slot[n,j],:]   (dropped choices, slot -1, add 0)
//   backward experts: doe[s,:] = wt[a] * dy[a / k,:] for a = slotAssign[s]; an empty slot (a = -1)
//                     is not written: nothing reads it (the expert layers skip empty slots)
//   backward weights: dwt[n,j] = <dy[n,:], oe[slot[n,j],:]>; 0 for a dropped choice
// All three write (=): each slot has one occupant, and wt feeds only this op. Only occupied slots
// of oe are read.
// CombineBackward may also fold in the experts' output activation (outputAct, when oe = act(z)
// and act' is a function of the output: ReLU [oe > 0], tanh 1 - oe^2, sigmoid oe (1 - oe)):
//   doe[s,:] = wt[a] * dy[a / k,:] * act'(oe[s,:])   = the gradient of the pre-activation z, so
// the experts' last linear runs its backward without the activation and never reads Z (on lavapipe
// its backward-input tiles re-read dY and Z once per input column tile).
// Shaders: combine_forward.comp (per token row), combine_backward_experts.comp (per slot row),
// combine_backward_weights.comp (per (n,j)); sums run in ascending j or d. CombineBackward is both
// backward halves in one dispatch (combine_backward.comp), what the builder emits. When D % 4 == 0
// the forward and the fused backward run *_vec4 variants that read oe and dy as rgba32f texel
// buffers (lavapipe gathers them; storage-buffer loads are per-lane loops there): ~2x faster. Whole rows per
// invocation: lavapipe's cost grows with the invocation count far more than with the work in each.
#include <cstdint>
#include <memory>

#include "ops/op.h"
#include "spec/spec.h"  // rl::Activation

namespace rl {

struct CombineParams {
  uint32_t N = 0, D = 0, k = 0, S = 0;  // S = E*C expert slots (not "slots": a Qt keyword macro)
};
static_assert(sizeof(CombineParams) == 16);

class CombineForward final : public Op {
 public:
  CombineForward(const Program& program, TensorId oe, TensorId slot, TensorId wt, TensorId y, CombineParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return p_.D % 4 == 0 ? "combine_forward_vec4" : "combine_forward"; }
  std::vector<bool> texelBindings() const override;
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override { return {ceilDiv(p_.N, localSize())}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId oe_, slot_, wt_, y_;
  CombineParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

class CombineBackwardExperts final : public Op {
 public:
  CombineBackwardExperts(const Program& program, TensorId dy, TensorId slotAssign, TensorId wt, TensorId doe,
                         CombineParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "combine_backward_experts"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override { return {ceilDiv(p_.S, localSize())}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dy_, slotAssign_, wt_, doe_;
  CombineParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

class CombineBackwardWeights final : public Op {
 public:
  CombineBackwardWeights(const Program& program, TensorId dy, TensorId oe, TensorId slot, TensorId dwt,
                         CombineParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "combine_backward_weights"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override { return {ceilDiv(uint64_t(p_.N) * p_.k, localSize())}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dy_, oe_, slot_, dwt_;
  CombineParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

// Both backward halves in one dispatch: doe as CombineBackwardExperts, dwt as CombineBackwardWeights
// (the same arithmetic in the same order). Invocations [0, S) take slot rows, [S, S + N*k) gate
// weights. On CPU-class Vulkan the grid is capped at kCombineCpuClassWorkgroups and invocations
// stride (lavapipe pays per workgroup).
constexpr uint32_t kCombineCpuClassWorkgroups = 4;

class CombineBackward final : public Op {
 public:
  // True when outputAct's derivative can be computed from the output (see above).
  static bool foldsActivation(Activation a) {
    return a == Activation::None || a == Activation::Relu || a == Activation::Tanh || a == Activation::Sigmoid;
  }
  CombineBackward(const Program& program, TensorId dy, TensorId oe, TensorId slot, TensorId slotAssign, TensorId wt,
                  TensorId doe, TensorId dwt, CombineParams params, Activation outputAct = Activation::None);
  // Constant 1 = outputAct (rl::Activation), whose derivative the expert rows apply.
  std::vector<uint32_t> specConstants() const override { return {static_cast<uint32_t>(act_)}; }
  std::string name() const override { return name_; }
  std::string shader() const override { return p_.D % 4 == 0 ? "combine_backward_vec4" : "combine_backward"; }
  std::vector<bool> texelBindings() const override;
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;
  const Op& forDevice(DeviceClass c) const override;

 private:
  TensorId dy_, oe_, slot_, slotAssign_, wt_, doe_, dwt_;
  CombineParams p_;
  Activation act_;
  std::vector<Binding> bindings_;
  std::string name_;
  uint32_t gridCap_ = ~0u;
  std::shared_ptr<const Op> cpuClass_;  // this op with a capped grid
};

}  // namespace rl
