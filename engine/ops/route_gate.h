#pragma once
// Router gate: probabilities, gate logits, and the k experts each token goes to with their weights.
// N tokens (rows), E experts, k choices per token.
//   probs[N,E] = softmax(logits / T)                       (clean, for statistics and aux losses)
//   h[N,E]     = logits / T  (+ eps * softplus(noiseLogits) for NoisyTopK while training)
//   idx[N,k], wt[N,k]: choice j = 0 is the best; ties go to the lower expert index.
//     Dense:     k = E, idx[n,j] = j, wt = probs               (Jacobs et al. 1991)
//     TopK:      top-k of probs, wt_j = p_{i_j} / sum_selected p
//     NoisyTopK: top-k of h, wt = softmax over the selected h   (Shazeer et al. 2017)
//     Switch:    k = 1, top-1 of probs, wt = p_{i_0}, not renormalised so the router learns
// eps ~ N(0,1) per element i = n*E + e from (globals.seed, globals.step, noiseStream), see
// routing::normalNoise. Shader: route_gate.comp, one invocation per token row.
#include <cstdint>

#include "ops/op.h"

namespace rl {

struct GateParams {
  uint32_t N = 0, E = 0, k = 0;
  uint32_t type = 0;  // static_cast<uint32_t>(RouterType)
  float temperature = 1.0f;
  uint32_t noiseStream = 0;
};
static_assert(sizeof(GateParams) == 24);

class RouteGate final : public Op {
 public:
  // noiseLogits is read only for NoisyTopK (pass logits otherwise); idx is an int32 tensor.
  RouteGate(const Program& program, TensorId logits, TensorId noiseLogits, TensorId globals, TensorId probs,
            TensorId h, TensorId idx, TensorId wt, GateParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "route_gate"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  Grid grid() const override { return {ceilDiv(p_.N, localSize())}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId logits_, noise_, globals_, probs_, h_, idx_, wt_;
  GateParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

// Throws std::invalid_argument unless k fits the router type (shared with the backward op).
void validateGate(uint32_t N, uint32_t E, uint32_t k, uint32_t type, float temperature, const char* op);

}  // namespace rl
