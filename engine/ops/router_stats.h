#pragma once
// Router statistics and auxiliary losses, forward only (their gradients are folded into
// RouteGateBackward). N tokens, E experts, k choices per token.
//   load[e]       = #{(n,j): idx[n,j] = e} / (N*k)           (choices before capacity drops)
//   importance[e] = mean_n probs[n,e]
//   scalars[0] aux     = auxCoef * E * sum_e load[e] * importance[e]   (Switch load balancing)
//   scalars[1] z       = zCoef * mean_n (logsumexp_e h[n,e])^2        (router z-loss on the gate logits)
//   scalars[2] entropy = mean_n -sum_e p ln p   (natural log, 0 ln 0 = 0)
//   scalars[3] dropped = #{(n,j): slot[n,j] = -1} / (N*k)
// Shader: router_stats.comp, one workgroup of 256: strided per-invocation partial sums in a
// fixed order, then a fixed tree in shared memory (deterministic, no atomics).
#include <cstdint>

#include "ops/op.h"

namespace rl {

struct StatsParams {
  uint32_t N = 0, E = 0, k = 0;
  float auxCoef = 0.0f, zCoef = 0.0f;
};
static_assert(sizeof(StatsParams) == 20);

class RouterStats final : public Op {
 public:
  static constexpr uint32_t kThreads = 256;  // the shader's shared arrays have this size

  RouterStats(const Program& program, TensorId probs, TensorId h, TensorId idx, TensorId slot, TensorId load,
              TensorId importance, TensorId scalars, StatsParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "router_stats"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  uint32_t localSize() const override { return kThreads; }
  Grid grid() const override { return {1}; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId probs_, h_, idx_, slot_, load_, importance_, scalars_;
  StatsParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

}  // namespace rl
