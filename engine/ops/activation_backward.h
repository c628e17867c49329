#pragma once
// Activation backward as its own elementwise op: dz = dy (.) act'(z), written (=) once.
//
// Legend: count = number of floats (for an expert layer's [G, M, O] output, G M O).
//   dz[i] = dy[i] * act'(z[i])   (y = act(z) recomputed from z where the derivative needs it;
//                                 the formulas are those of engine/ops/activation.h)
// Why: the linear backward ops recompute act'(Z) inside their tile loops, once per tile of the
// other operand (I/4 times per element for dX, I/8 times for dW on lavapipe's vec4 shaders), which
// for GELU costs more than the matrix products. The Transformer builder runs this op once and the
// linear backward ops with act = none on dz. Rows that a masked linear skips are computed too
// (their values are never read).
// Shader: activation_backward.comp, work item i = floats 4i .. 4i+3 through vec4 views (the last
// item scalar when count is not a multiple of 4), grid-stride; the activation is specialisation
// constant 1, so each pipeline carries no branch over activations.
#include <cstdint>
#include <string>

#include "ops/strided_op.h"
#include "spec/spec.h"

namespace rl {

// Mirrors the push-constant block of shaders/activation_backward.comp.
struct ActivationBackwardParams {
  uint32_t count = 0;
  uint32_t act = 0;  // static_cast<uint32_t>(rl::Activation); also specialisation constant 1
};
static_assert(sizeof(ActivationBackwardParams) == 8);

class ActivationBackward final : public StridedOp {
 public:
  // dy, z, dz: F32 tensors of at least count floats; dz may be dy (each element is read, then
  // written, by one invocation).
  ActivationBackward(const Program& program, TensorId dy, TensorId z, TensorId dz, ActivationBackwardParams params);
  std::string shader() const override { return "activation_backward"; }
  std::vector<uint32_t> specConstants() const override { return {p_.act}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dy_, z_, dz_;
  ActivationBackwardParams p_;
};

}  // namespace rl
