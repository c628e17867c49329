#pragma once
// Router gate backward: the exact gradient of  L = sum_{n,j} dwt[n,j] * wt[n,j] + aux + z
// with respect to the router logits (and the noise logits for NoisyTopK), written (=).
// N tokens, E experts, k choices per token. p = probs, z_n = logits_n / T, h = gate logits.
// The selection idx is piecewise constant and gets no gradient. Per row n:
//   aux:  d aux / d p[e] = auxCoef * E * load[e] / N       (load held constant, as in Switch)
//   z:    d z / d h[e]   = 2 zCoef / N * lse(h_n) * softmax(h_n)[e]
//   task, with G = sum_j dwt_j wt_j and r the rank of expert e among the choices:
//     Dense, Switch: d/dp[e] += dwt_r                     (wt = p)
//     TopK:          d/dp[e] += (dwt_r - G) / sum_sel p   (wt = p / sum_sel p)
//     NoisyTopK:     d/dh[e] += wt_r (dwt_r - G)          (wt = softmax over selected h)
//   softmax: dz[e] = p[e] (dp[e] - sum_f p[f] dp[f]) + dh[e];  dlogits = dz / T
//   NoisyTopK while training (h = z + eps * softplus(noiseLogits)):
//     dnoiseLogits[e] = dh[e] * eps[e] * sigmoid(noiseLogits[e]), eps regenerated as in RouteGate;
//     while evaluating: 0.
// Shader: route_gate_backward.comp, one invocation per token row; the row's output is its scratch.
#include <cstdint>

#include "ops/op.h"

namespace rl {

struct GateBwdParams {
  uint32_t N = 0, E = 0, k = 0;
  uint32_t type = 0;  // static_cast<uint32_t>(RouterType)
  float temperature = 1.0f;
  uint32_t noiseStream = 0;
  float auxCoef = 0.0f, zCoef = 0.0f;
};
static_assert(sizeof(GateBwdParams) == 32);

class RouteGateBackward final : public Op {
 public:
  // noiseLogits / dnoiseLogits are used only for NoisyTopK (pass logits' tensors otherwise: any
  // tensor of the right size, and dnoiseLogits = dlogits); load is RouterStats' output.
  RouteGateBackward(const Program& program, TensorId dwt, TensorId probs, TensorId h, TensorId idx, TensorId wt,
                    TensorId noiseLogits, TensorId globals, TensorId load, TensorId dlogits,
                    TensorId dnoiseLogits, GateBwdParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "route_gate_backward"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  // Constant 1 = E: the shader keeps a row's terms in arrays of E entries.
  std::vector<uint32_t> specConstants() const override { return {p_.E}; }
  Grid grid() const override { return {ceilDiv(p_.N, localSize())}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dwt_, probs_, h_, idx_, wt_, noise_, globals_, load_, dlogits_, dnoise_;
  GateBwdParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

}  // namespace rl
