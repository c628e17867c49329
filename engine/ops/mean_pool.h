#pragma once
// Mean over the positions of each sequence: the Transformer's pooled representation for
// sequence classification.
//
// Legend: B sequences, T positions, D width (a multiple of 4: rows are read as 4-float texels).
//   x [B, T, D] (row b T + t), y [B, D], dy [B, D], dx [B, T, D].
//   forward:  y[b,d]    = (1/T) Σ_t x[b,t,d]   (t ascending; the sum is scaled once at the end)
//   backward: dx[b,t,d] = (1/T) dy[b,d]        (written, =)
// Shaders mean_pool_forward (one work item per output texel of y) and mean_pool_backward (one per
// row of dx); x and dy are read as rgba32f texel buffers.
#include <cstdint>
#include <string>

#include "ops/strided_op.h"

namespace rl {

// Mirrors the push-constant block of shaders/mean_pool_*.comp.
struct MeanPoolParams {
  uint32_t batch = 0, seq = 0, width = 0;
};
static_assert(sizeof(MeanPoolParams) == 12);

class MeanPoolForward final : public StridedOp {
 public:
  MeanPoolForward(const Program& program, TensorId x, TensorId y, MeanPoolParams params);
  std::string shader() const override { return "mean_pool_forward"; }
  std::vector<bool> texelBindings() const override { return {true}; }  // x
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId x_, y_;
  MeanPoolParams p_;
};

class MeanPoolBackward final : public StridedOp {
 public:
  MeanPoolBackward(const Program& program, TensorId dy, TensorId dx, MeanPoolParams params);
  std::string shader() const override { return "mean_pool_backward"; }
  std::vector<bool> texelBindings() const override { return {true}; }  // dy
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dy_, dx_;
  MeanPoolParams p_;
};

}  // namespace rl
