#pragma once
// Routing tables and metrics for the token routers that have no gate (RouterStats serves
// token_choice and dense): hash / task routing, expert choice and Soft MoE. Forward only: these are
// metrics and views, nothing trains through them. The outputs are what the Session reads for every
// MoE layer (MoeTensors): probs [N,E], idx / wt / slot [N,k], load [E], importance [E], scalars [4].
//
// Legend: N tokens, E experts, S Soft MoE slots per expert, k = 1 (fixed) or E (the others).
//   Fixed (hash, task), k = 1. Reads idx[N,1], slot[N,1] (TokenRouteHash/Task, RouteAssign). Writes
//     probs[n,e]    = [idx[n] = e]                 the fixed assignment as a one-hot row
//     load[e]       = #{n : idx[n] = e} / N        (before capacity drops, as RouterStats)
//     importance[e] = mean_n probs[n,e]            (= load: the assignment is the only "probability")
//     dropped       = #{n : slot[n] = -1} / N      tokens past their expert's capacity
//   ExpertChoice, k = E. Reads probs[N,E] (the per-token softmax scores), slot[N,E]. Writes
//     idx[n,e]      = e                            (choice e of a token = expert e, the k = E table)
//     load[e]       = #{n : slot[n,e] >= 0} / #{(n,f) : slot[n,f] >= 0}   share of the taken slots
//                     (1/E by construction: every expert fills its C slots)
//     importance[e] = mean_n probs[n,e]
//     dropped       = #{n : slot[n,f] = -1 for every f} / N               tokens no expert took
//   Soft, k = E. Reads combineW[N,E·S] (SoftMoeDispatchForward's Cw). Writes
//     probs[n,e] = wt[n,e] = Σ_s combineW[n, e·S + s]  the share of token n's output from expert e
//     idx[n,e] = slot[n,e] = e                     (every token reaches every expert; none dropped)
//     load[e]       = 1/E                          every expert gets B·S slots by construction
//     importance[e] = mean_n probs[n,e]            mean combine weight per expert
//     dropped       = 0
//   Every mode: scalars = {aux 0, z 0, entropy = mean_n −Σ_e probs ln probs (0 ln 0 = 0), dropped};
//   these routers have no aux or z-loss (the spec refuses the coefficients).
// Shader: token_route_stats.comp, one workgroup of kThreads: lane t owns token rows t, t+kThreads, ...
// (tables, entropy, dropped) and expert t (load, importance, each a sequential loop over the tokens);
// partial sums meet in a fixed tree in shared memory (deterministic, no atomics). E <= kThreads.
#include <cstdint>

#include "ops/op.h"

namespace rl {

enum class TokenRouteStatsMode : uint32_t { Fixed = 0, ExpertChoice = 1, Soft = 2 };

// Mirrors the push-constant block of shaders/token_route_stats.comp.
struct TokenRouteStatsParams {
  uint32_t N = 0, E = 0;
  uint32_t S = 1;     // Soft: slots per expert (combineW has E·S columns); otherwise unused
  uint32_t mode = 0;  // TokenRouteStatsMode
};
static_assert(sizeof(TokenRouteStatsParams) == 16);

class TokenRouteStats final : public Op {
 public:
  static constexpr uint32_t kThreads = 64;  // the shader's shared arrays; also the most experts

  // Tensors a mode does not read or write (combineW and wt outside Soft) may be any F32 tensor;
  // they are bound but not touched.
  TokenRouteStats(const Program& program, TensorId probs, TensorId combineW, TensorId idx, TensorId slot,
                  TensorId wt, TensorId load, TensorId importance, TensorId scalars, TokenRouteStatsParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "token_route_stats"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  uint32_t localSize() const override { return kThreads; }
  Grid grid() const override { return {1}; }
  void runCpu(const ArenaView& arena) const override;
  // On a CPU-class device (lavapipe) throws a clear std::runtime_error when a lane would pass the
  // 65535 loop iterations llvmpipe allows per invocation (see loop_budgeted_op.h).
  const Op& forDevice(DeviceClass c) const override;
  uint64_t laneLoopIterations() const;

 private:
  TensorId probs_, combineW_, idx_, slot_, wt_, load_, importance_, scalars_;
  TokenRouteStatsParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

}  // namespace rl
