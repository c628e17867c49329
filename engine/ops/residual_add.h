#pragma once
// Elementwise sums for the Transformer's residual stream.
//
// Legend: count = number of floats (any count; for a [N, D] activation, N D).
//   ResidualAdd:    y[i] = a[i] + b[i]    (y written, distinct from a and b)
//   AccumulateInto: dst[i] += src[i]      (where an activation gradient fans out to two consumers)
// Both run shaders/residual_add.comp; AccumulateInto binds (src, dst, dst), so each element is
// read and then written by the same invocation. Grid-stride over groups of 4 floats (vec4 views of
// the storage buffers; bindings start 256-byte aligned), the last group scalar when count is not a
// multiple of 4. Exact on both backends: one float add per element.
#include <cstdint>
#include <string>

#include "ops/strided_op.h"

namespace rl {

// Mirrors the push-constant block of shaders/residual_add.comp.
struct ResidualAddParams {
  uint32_t count = 0;
};
static_assert(sizeof(ResidualAddParams) == 4);

class ResidualAdd final : public StridedOp {
 public:
  ResidualAdd(const Program& program, TensorId a, TensorId b, TensorId y, ResidualAddParams params);
  std::string shader() const override { return "residual_add"; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId a_, b_, y_;
  ResidualAddParams p_;
};

class AccumulateInto final : public StridedOp {
 public:
  AccumulateInto(const Program& program, TensorId src, TensorId dst, ResidualAddParams params);
  std::string shader() const override { return "residual_add"; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId src_, dst_;
  ResidualAddParams p_;
};

}  // namespace rl
