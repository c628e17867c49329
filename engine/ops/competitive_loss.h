#pragma once
// Competitive mixture-of-experts loss (Jacobs, Jordan, Nowlan & Hinton 1991), forward and backward
// fused. Each expert is scored on the target by itself; the gate weights are the prior:
//   loss = (1/N) sum_n -log sum_j wt[n,j] exp(-1/2 ||t_n - o_{n,j}||^2),  o_{n,j} = oe[slot[n,j],:]
// computed as a log-sum-exp over log wt - d. Dropped choices (slot -1) and choices with wt <= 0
// leave the sum; a row with nothing left contributes 0 and no gradient.
// With r_j = exp(-d_j + loss_n) = exp(-d_j) / sum_i wt_i exp(-d_i) and posterior h_j = wt_j r_j:
//   doe[slot[n,j],:] = scale/N * h_j * (o_{n,j} - t_n)   (written; empty slots 0)
//   dwt[n,j]         = -scale/N * r_j                    (written; dropped choices 0)
//   out[0]           = loss (unscaled)
// N tokens, D features, k choices per token, S = E*C slots.
// Shader: competitive_loss.comp, one workgroup of 256: zero doe, barrier, rows strided over the
// invocations, loss partial sums in a fixed tree.
#include <cstdint>

#include "ops/op.h"

namespace rl {

struct CompetitiveParams {
  uint32_t N = 0, D = 0, k = 0, S = 0;  // S = E*C expert slots (not "slots": a Qt keyword macro)
  float scale = 1.0f;  // gradient scale
};
static_assert(sizeof(CompetitiveParams) == 20);

class CompetitiveLoss final : public Op {
 public:
  static constexpr uint32_t kThreads = 256;  // the shader's shared array has this size

  CompetitiveLoss(const Program& program, TensorId oe, TensorId slot, TensorId wt, TensorId target, TensorId doe,
                  TensorId dwt, TensorId out, CompetitiveParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "competitive_loss"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  uint32_t localSize() const override { return kThreads; }
  Grid grid() const override { return {1}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId oe_, slot_, wt_, target_, doe_, dwt_, out_;
  CompetitiveParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

}  // namespace rl
