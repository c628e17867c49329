#pragma once
// Expert-choice routing (Zhou et al. 2022, "Mixture-of-Experts with Expert Choice Routing"): each
// expert picks its top C tokens, so every expert is exactly full and a token may be taken by 0..E
// experts (0 = dropped: the MoE block adds nothing for it; the residual still carries it).
//
// Legend: N tokens, E experts, C tokens per expert (capacity), T temperature.
//   logits[N,E]      router logits (a linear of the tokens)
//   probs[N,E]       scores: softmax over the experts of each token, probs = softmax_e(logits / T).
//                    Softmax per token (not per expert) as in the paper: a token's scores compete,
//                    so a token cannot be everyone's favourite at once.
//   Selection: expert e takes the C tokens with the largest probs[·,e]; equal scores go to the lower
//   token index (a strict order, so the choice is unique and the same on both backends for equal
//   probs). With C >= N every token is taken. Its slots hold the taken tokens in ascending token order.
//   slotAssign[E·C]  int32 = n·E + e for the token n in slot e·C + c (token = value / E), or -1 for
//                    an empty slot (only when C > N). The occupied slots are a prefix per expert.
//   slot[N,E]        int32 = e·C + c if expert e took token n, else -1
//   wt[N,E]          = probs[n,e] if expert e took token n, else 0 (the gate weight)
//   count[N]         int32 = number of experts that took token n (0 = dropped; for metrics)
// Experts choose among all N tokens of the batch, so whether a token is taken depends on the other
// tokens, later ones of its own sequence included: like Soft MoE, not causal (the paper notes it
// for autoregressive decoding).
// This is exactly the token-choice tables with k = E (choice j of token n = expert j), so the
// existing ops consume it unchanged:
//   y[n,:] = Σ_e [slot[n,e] >= 0] · wt[n,e] · oe[slot[n,e],:]      (CombineForward with k = E)
//
// Backward: ExpertChoiceBackward turns dwt[N,E] (CombineBackward's gate-weight gradient, 0 where not
// taken) into dlogits through the softmax, the selection held constant (it is piecewise constant in
// the logits; like top-k routing, the router learns only through the weights of what was chosen):
//   g[n,e] = [slot[n,e] >= 0] · dwt[n,e]
//   dlogits[n,e] = (1/T) · probs[n,e] · (g[n,e] − Σ_f probs[n,f] · g[n,f])        (written, =)
//
// How a builder wires it (C = expertChoiceCapacity(cf, N, E); S = E·C slots; k = E everywhere):
//   LinearForward(x -> logits[N,E])                       the router
//   ExpertChoiceForward(logits -> probs, slotAssign, slot, wt, count)
//   DispatchForward(x, slotAssign -> xe[S,d])              DispatchParams{N, d, S, k = E}
//   expert linears, G = E groups of M = C rows, row mask = slotAssign
//   CombineForward(oe, slot, wt -> y)                      CombineParams{N, d_out, k = E, S}
// Backward, in tape order:
//   CombineBackward(dy, oe, slot, slotAssign, wt -> doe, dwt[N,E])   CombineParams as above
//   ExpertChoiceBackward(dwt, probs, slot -> dlogits)       then the router linear's backward
//   expert linears' backward, DispatchBackward(dxe, slot -> dx)      DispatchParams{N, d, S, k = E}
// Metrics: dropped fraction = #{n : count[n] = 0} / N; every expert's load is C / N by construction,
// so there is no load-balancing loss. The router z-loss (spec z_loss_coef) is not in these ops:
// RouterStats / RouteGateBackward compute it for token-choice tables, not for these.
//
// Shaders: token_route_expert_choice.comp (one workgroup of kThreads lanes, each owning a contiguous
// block of tokens: softmax rows; every expert's C-th largest score by bisection on the float bits,
// with lane partial counts summed in a fixed order in shared memory; then the take rule with lane
// prefix sums, so slots fill in token order; no atomics), token_route_expert_choice_backward.comp
// (one token row per work item, grid-stride). E is a specialisation constant of the forward.
#include <cstdint>

#include "ops/op.h"
#include "ops/strided_op.h"

namespace rl {

// Mirrors the push-constant blocks of shaders/token_route_expert_choice*.comp.
struct ExpertChoiceParams {
  uint32_t N = 0, E = 0, C = 0;  // C is not read by the backward
  float temperature = 1.0f;
};
static_assert(sizeof(ExpertChoiceParams) == 16);

// C = ceil(cf·N / E) clamped to [1, N] (cf = capacity factor = mean experts per token). The ceil
// forgives a relative 1e-9 of float error, so cf = 0.3, N = 10, E = 3 gives 1, not 2.
uint32_t expertChoiceCapacity(double capacityFactor, uint32_t N, uint32_t E);

class ExpertChoiceForward final : public Op {
 public:
  static constexpr uint32_t kThreads = 32;     // the single workgroup's size (the shader's kThreads)
  static constexpr uint32_t kMaxExperts = 64;  // shared memory: 2 E kThreads words = 16 KiB at most

  ExpertChoiceForward(const Program& program, TensorId logits, TensorId probs, TensorId slotAssign, TensorId slot,
                      TensorId wt, TensorId count, ExpertChoiceParams params);
  std::string name() const override { return name_; }
  std::string shader() const override { return "token_route_expert_choice"; }
  std::vector<Binding> bindings() const override { return bindings_; }
  std::vector<uint32_t> pushConstants() const override { return pushWords(p_); }
  std::vector<uint32_t> specConstants() const override { return {p_.E}; }
  uint32_t localSize() const override { return kThreads; }
  Grid grid() const override { return {1}; }
  void runCpu(const ArenaView& arena) const override;
  // On a CPU-class device (lavapipe) throws a clear std::runtime_error when a lane would run more
  // loop iterations than llvmpipe allows per invocation (65535, see the shader), i.e. N above
  // about 60,000 tokens: the result would be silently wrong.
  const Op& forDevice(DeviceClass c) const override;
  // Loop iterations one lane of the shader runs (an upper estimate).
  uint64_t laneLoopIterations() const;

 private:
  TensorId logits_, probs_, slotAssign_, slot_, wt_, count_;
  ExpertChoiceParams p_;
  std::vector<Binding> bindings_;
  std::string name_;
};

class ExpertChoiceBackward final : public StridedOp {
 public:
  ExpertChoiceBackward(const Program& program, TensorId dwt, TensorId probs, TensorId slot, TensorId dlogits,
                       ExpertChoiceParams params);
  std::string shader() const override { return "token_route_expert_choice_backward"; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dwt_, probs_, slot_, dlogits_;
  ExpertChoiceParams p_;
};

}  // namespace rl
