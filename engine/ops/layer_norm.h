#pragma once
// Layer normalisation over the last dimension, with a learned scale and shift.
//
// Legend: N rows, D width (a multiple of 4: rows are read as 4-float texels).
//   x [N, D], gamma [D], beta [D] (parameters), y [N, D], mean [N], rstd [N] (saved for the backward).
//   forward:  mu_n = (1/D) Σ_d x[n,d];  var_n = (1/D) Σ_d (x[n,d] - mu_n)^2  (biased, two passes)
//             rstd_n = 1 / sqrt(var_n + eps);  xhat[n,d] = (x[n,d] - mu_n) rstd_n
//             y[n,d] = xhat[n,d] gamma[d] + beta[d]
//   backward: g[n,d] = dy[n,d] gamma[d];  a_n = (1/D) Σ_d g[n,d];  b_n = (1/D) Σ_d g[n,d] xhat[n,d]
//             dx[n,d] (= or +=) rstd_n (g[n,d] - a_n - xhat[n,d] b_n)  (+= with accumulate = 1: x on
//             the residual stream, whose gradient already holds the skip path's share)
//             dgamma[d] += Σ_n dy[n,d] xhat[n,d];  dbeta[d] += Σ_n dy[n,d]     (n ascending, summed
//             first, then added: parameter gradients accumulate)
// The backward is ONE dispatch (LayerNormBackward; there are no separate input / parameter
// classes): its first D/4 work items each own a 4-column texel of dgamma and dbeta and sum over
// the rows, the next N items each own a row of dx. Both recompute xhat from x, mean and rstd; no
// element has two writers, so the result is deterministic without atomics. x, gamma, beta and dy
// are read as rgba32f texel buffers.
#include <cstdint>
#include <string>

#include "ops/strided_op.h"

namespace rl {

// Mirrors the push-constant block of shaders/layer_norm_*.comp.
struct LayerNormParams {
  uint32_t rows = 0, width = 0;
  float eps = 1e-5f;
  uint32_t accumulate = 0;  // backward only: 1 adds into dx instead of writing it (the forward ignores it)
};
static_assert(sizeof(LayerNormParams) == 16);

class LayerNormForward final : public StridedOp {
 public:
  LayerNormForward(const Program& program, TensorId x, TensorId gamma, TensorId beta, TensorId y, TensorId mean,
                   TensorId rstd, LayerNormParams params);
  std::string shader() const override { return "layer_norm_forward"; }
  std::vector<bool> texelBindings() const override { return {true, true, true}; }  // x, gamma, beta
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId x_, gamma_, beta_, y_, mean_, rstd_;
  LayerNormParams p_;
};

class LayerNormBackward final : public StridedOp {
 public:
  LayerNormBackward(const Program& program, TensorId x, TensorId gamma, TensorId mean, TensorId rstd, TensorId dy,
                    TensorId dx, TensorId dgamma, TensorId dbeta, LayerNormParams params);
  std::string shader() const override { return "layer_norm_backward"; }
  // x, gamma, (mean, rstd: storage), dy
  std::vector<bool> texelBindings() const override { return {true, true, false, false, true}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId x_, gamma_, mean_, rstd_, dy_, dx_, dgamma_, dbeta_;
  LayerNormParams p_;
};

}  // namespace rl
