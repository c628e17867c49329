#pragma once
// Optimizer steps and the gradient norm, each one dispatch over the whole contiguous parameter
// range (Program::paramBegin/paramWords and the gradient range with the same layout). The step
// number (1-based) and the current learning rate come from the globals tensor (ops/globals.h),
// so a command buffer recorded once serves every step.
//
// Legend: P parameter words (count).
//   Adam:        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//                p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)      (t = globals.step)
//   SgdMomentum: v = mu v + g;  p -= lr * v
//   GradNorm:    out[0] = sqrt(sum g^2), one workgroup, fixed summation order
//   AdamGradNorm: GradNorm, then Adam, in one dispatch (what the builder emits for Adam)
// Shaders: adam, sgd_momentum, grad_norm, adam_grad_norm.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"

namespace rl {

// Mirrors the push-constant block of shaders/adam.comp.
struct AdamParams {
  uint32_t count;
  float beta1, beta2, eps;
  // Set by Adam's constructor (callers leave them 0): ln(beta) computed in double, so the shader
  // gets the bias corrections 1 - beta^t = -expm1(t ln beta) without the cancellation of a float
  // pow (1 - 0.999^t loses ~4 digits that way).
  float logBeta1 = 0.f, logBeta2 = 0.f;
};
static_assert(sizeof(AdamParams) == 24);

// Mirrors the push-constant block of shaders/sgd_momentum.comp.
struct SgdParams {
  uint32_t count;
  float momentum;
};
static_assert(sizeof(SgdParams) == 8);

// Mirrors the push-constant block of shaders/grad_norm.comp.
struct GradNormParams {
  uint32_t count;
};
static_assert(sizeof(GradNormParams) == 4);

// Elementwise ops over a range: 256 lanes, at most this many workgroups (the shaders stride).
constexpr uint32_t kOptimizerLocalSize = 256;
constexpr uint32_t kOptimizerMaxGroups = 4096;
// CPU implementations of Vulkan (lavapipe) pay per workgroup far more than per invocation, so there
// Adam and SGD cap their grid at this many workgroups and each invocation strides over the range
// (same shader, same per-element arithmetic; only the element-to-invocation assignment changes).
constexpr uint32_t kOptimizerCpuClassGroups = 2;

class Adam final : public Op {
 public:
  Adam(const Program& program, Binding params, Binding grads, Binding m, Binding v, TensorId globals,
       AdamParams p);
  std::string name() const override { return "adam"; }
  std::string shader() const override { return "adam"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  uint32_t localSize() const override { return kOptimizerLocalSize; }
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;
  // On a CPU implementation: the same op with its grid capped (kOptimizerCpuClassGroups).
  const Op& forDevice(DeviceClass c) const override;

 private:
  AdamParams p_;
  TensorId globals_;
  std::vector<Binding> bindings_;  // params, grads, m, v, globals
  uint32_t gridCap_ = kOptimizerMaxGroups;
  std::shared_ptr<const Op> cpuClass_;  // this op with a capped grid, for forDevice
};

class SgdMomentum final : public Op {
 public:
  SgdMomentum(const Program& program, Binding params, Binding grads, Binding velocity, TensorId globals,
              SgdParams p);
  std::string name() const override { return "sgd_momentum"; }
  std::string shader() const override { return "sgd_momentum"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  uint32_t localSize() const override { return kOptimizerLocalSize; }
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;
  // On a CPU implementation: the same op with its grid capped (kOptimizerCpuClassGroups).
  const Op& forDevice(DeviceClass c) const override;

 private:
  SgdParams p_;
  TensorId globals_;
  std::vector<Binding> bindings_;  // params, grads, velocity, globals
  uint32_t gridCap_ = kOptimizerMaxGroups;
  std::shared_ptr<const Op> cpuClass_;  // this op with a capped grid, for forDevice
};

class GradNorm final : public Op {
 public:
  // out: F32 tensor with at least one element.
  GradNorm(const Program& program, Binding grads, TensorId out, GradNormParams p);
  std::string name() const override { return "grad_norm"; }
  std::string shader() const override { return "grad_norm"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  uint32_t localSize() const override { return kOptimizerLocalSize; }
  Grid grid() const override { return {1, 1, 1}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  GradNormParams p_;
  TensorId out_;
  std::vector<Binding> bindings_;  // grads, out
};

// The gradient norm and the Adam step in one dispatch (shaders/adam_grad_norm.comp): workgroup 0
// computes the norm as GradNorm does, the others run Adam's grid (capped on CPU class as Adam's);
// Adam only reads the gradients, so the two need no ordering. The CPU reference is the two ops'
// own runCpu. `out` is GradNorm's output tensor.
class AdamGradNorm final : public Op {
 public:
  AdamGradNorm(const Program& program, Binding params, Binding grads, Binding m, Binding v, TensorId globals,
               TensorId out, AdamParams p);
  std::string name() const override { return "adam+grad_norm"; }
  std::string shader() const override { return "adam_grad_norm"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return adam_.pushConstants(); }
  uint32_t localSize() const override { return kOptimizerLocalSize; }
  Grid grid() const override;
  void runCpu(const ArenaView& arena) const override;
  const Op& forDevice(DeviceClass c) const override;

 private:
  Adam adam_;
  GradNorm norm_;
  std::vector<Binding> bindings_;  // params, grads, m, v, globals, out
  bool cpuClassGrid_ = false;
  std::shared_ptr<const Op> cpuClass_;  // this op with Adam's capped grid, for forDevice
};

}  // namespace rl
