#pragma once
// Elementwise sums for the Transformer's residual stream.
//
// Legend: count = number of floats (any count; for a [N, D] activation, N D).
//   ResidualAdd:    y[i] = a[i] + b[i]    (y written, distinct from a and b)
//   AccumulateInto: dst[i] += src[i]      (where an activation gradient fans out to two consumers)
// One shader computes binding 2 = binding 0 + binding 1; AccumulateInto binds (src, dst, dst), so
// each element is read and then written by the same invocation. Grid-stride over groups of 4
// floats: shaders/residual_add.comp reads them as rgba32f texels when count is a multiple of 4 (the
// Transformer's N D always is), shaders/residual_add_storage.comp through vec4 views of storage
// buffers with a scalar last group otherwise. Exact on both backends: one float add per element.
#include <cstdint>
#include <string>

#include "ops/strided_op.h"

namespace rl {

// Mirrors the push-constant block of shaders/residual_add.comp.
struct ResidualAddParams {
  uint32_t count = 0;
};
static_assert(sizeof(ResidualAddParams) == 4);

// The shader variant for a count: texel loads need whole texels.
inline bool residualAddTexels(const ResidualAddParams& p) { return p.count % 4 == 0; }

class ResidualAdd final : public StridedOp {
 public:
  ResidualAdd(const Program& program, TensorId a, TensorId b, TensorId y, ResidualAddParams params);
  std::string shader() const override { return residualAddTexels(p_) ? "residual_add" : "residual_add_storage"; }
  std::vector<bool> texelBindings() const override;
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId a_, b_, y_;
  ResidualAddParams p_;
};

class AccumulateInto final : public StridedOp {
 public:
  AccumulateInto(const Program& program, TensorId src, TensorId dst, ResidualAddParams params);
  std::string shader() const override { return residualAddTexels(p_) ? "residual_add" : "residual_add_storage"; }
  std::vector<bool> texelBindings() const override;
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId src_, dst_;
  ResidualAddParams p_;
};

}  // namespace rl
