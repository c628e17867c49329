#pragma once
// Soft MoE (Puigcerver et al. 2023, "From Sparse to Soft Mixtures of Experts"): every expert slot
// takes a weighted mixture of the tokens of one sequence, and every token takes a weighted mixture
// of the slot outputs. Nothing is dropped and there is no capacity.
//
// Legend: B sequences (groups) of T tokens, N = B·T tokens (row n = b·T + t), E experts, S slots per
// expert, J = E·S slot columns (column j = e·S + s), D features, τ temperature.
//   logits[N,J]  router logits, a linear of the tokens (the paper's X·Φ)
//   Dw[N,J]      dispatch weights: softmax over the T tokens of the sequence, per slot column
//                Dw[b·T+t, j] = exp(logits[b·T+t, j]/τ) / Σ_t' exp(logits[b·T+t', j]/τ)
//   Cw[N,J]      combine weights: softmax over the J slots, per token
//                Cw[n, j] = exp(logits[n, j]/τ) / Σ_j' exp(logits[n, j']/τ)
//   xs[E·B·S, D] slot inputs, the expert-major layout the grouped expert linears take (G = E groups
//                of M = B·S rows): slot row r(b, j) = (j / S)·B·S + b·S + (j mod S)
//                xs[r(b,j), :] = Σ_t Dw[b·T+t, j] · x[b·T+t, :]
//   ys[E·B·S, D] the experts' outputs (same layout)
//   y[N,D]       y[n, :] = Σ_j Cw[n, j] · ys[r(b(n), j), :]
// Softmaxes run per sequence, so sequences never mix. They do mix within a sequence: with a causal
// (next-token) model a token's output sees later tokens through the slots (the paper notes Soft MoE
// is not causal); a builder should refuse soft_moe there or accept the leak knowingly.
//
// Backward (dy given; the grouped expert linears' backward turns dys into dxs in between):
//   combine:  dys[r(b,j), :] = Σ_t Cw[b·T+t, j] · dy[b·T+t, :]                      (written)
//             g[n,j] = <dy[n,:], ys[r(b(n),j),:]>,
//             dlogits[n,j] = Cw[n,j] · (g[n,j] − Σ_j' Cw[n,j'] g[n,j']) / τ          (written, =)
//   dispatch: dx[n,:] (= or +=) Σ_j Dw[n,j] · dxs[r(b(n),j), :]
//             h[n,j] = <dxs[r(b(n),j),:], x[n,:]>,
//             dlogits[n,j] (+= or =) Dw[n,j] · (h[n,j] − Σ_t' Dw[b·T+t',j] h[b·T+t',j]) / τ
//                                   (the sum over the tokens t' of n's sequence)
// The shaders use two identities to take one pass: Σ_j' Cw[n,j'] g[n,j'] = <dy[n,:], y[n,:]> and
// Σ_t' Dw h = <dxs[r(b,j),:], xs[r(b,j),:]>, so the backward ops also read the forward's y and xs
// (the CPU reference computes the sums as written; the parity tests compare the two).
// D must be a multiple of 4 (feature rows are read as 4-float texels; the Transformer's attention
// already requires it of d_model).
//
// How a builder wires it (per layer; no capacity, no row mask, no RouteAssign):
//   LinearForward(x -> logits[N,J])                     router weight Φ as a [J, D] linear, no bias
//   SoftMoeDispatchForward(logits, x -> Dw, Cw, xs)     params D = d_model
//   expert linears: G = E, M = B·S rows, no row mask    (every slot row is a real mixture)
//   SoftMoeCombineForward(ys, Cw -> y)                  params D = the experts' output width
// Backward, in tape order:
//   SoftMoeCombineBackward(dy, ys, y, Cw -> dys, dlogits)  writes dlogits; y = the combine output
//   expert linears' backward (dys -> dxs and their parameter gradients)
//   SoftMoeDispatchBackward(dxs, x, xs, Dw -> dx, dlogits)  accumulateDlogits = 1 (adds to the combine
//                                                       part); accumulateDx as x's fan-out requires
//   the router linear's backward (dlogits -> dΦ, dx +=)
// Metrics: no dropped tokens; every expert gets B·S slots by construction. No aux or z-loss here
// (the spec's z_loss_coef for soft_moe would need its own op).
//
// Shaders (grid-stride work items, capped grid on CPU-class Vulkan widened as the loop budget needs,
// see loop_budgeted_op.h; every sum in a fixed order, no atomics):
//   token_route_soft_moe_dispatch.comp          items (b, j, 16 features) of xs (chunk 0 also writes
//                                               the Dw column), then token rows of Cw
//   token_route_soft_moe_combine.comp           items (n, 16 features) of y
//   token_route_soft_moe_combine_backward.comp  items (b, j, 16 features) of dys, then token rows of dlogits
//   token_route_soft_moe_dispatch_backward.comp items (b, j): a dlogits column, then (n, 16 features) of dx
#include <cstdint>

#include "ops/loop_budgeted_op.h"

namespace rl {

constexpr uint32_t kSoftMoeChunk = 16;  // features per work item (the shaders' kChunk4 = 4 texels)

// Mirrors the push-constant blocks of shaders/token_route_soft_moe_*.comp.
struct SoftMoeParams {
  uint32_t B = 0, T = 0, E = 0, S = 0;
  uint32_t D = 0;                  // features of x / xs (dispatch ops) or of ys / y (combine ops)
  float temperature = 1.0f;
  uint32_t accumulateDx = 0;       // SoftMoeDispatchBackward: 1 adds into dx
  uint32_t accumulateDlogits = 1;  // SoftMoeDispatchBackward: 1 adds into dlogits (after the combine backward)
};
static_assert(sizeof(SoftMoeParams) == 32);

class SoftMoeDispatchForward final : public LoopBudgetedOp {
 public:
  SoftMoeDispatchForward(const Program& program, TensorId logits, TensorId x, TensorId dispatchW, TensorId combineW,
                         TensorId xs, SoftMoeParams params);
  std::string shader() const override { return "token_route_soft_moe_dispatch"; }
  std::vector<bool> texelBindings() const override { return {false, true}; }  // x
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId logits_, x_, dispatchW_, combineW_, xs_;
  SoftMoeParams p_;
};

class SoftMoeCombineForward final : public LoopBudgetedOp {
 public:
  SoftMoeCombineForward(const Program& program, TensorId ys, TensorId combineW, TensorId y, SoftMoeParams params);
  std::string shader() const override { return "token_route_soft_moe_combine"; }
  std::vector<bool> texelBindings() const override { return {true}; }  // ys
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId ys_, combineW_, y_;
  SoftMoeParams p_;
};

class SoftMoeCombineBackward final : public LoopBudgetedOp {
 public:
  // y: SoftMoeCombineForward's output for these ys and combine weights.
  SoftMoeCombineBackward(const Program& program, TensorId dy, TensorId ys, TensorId y, TensorId combineW,
                         TensorId dys, TensorId dlogits, SoftMoeParams params);
  std::string shader() const override { return "token_route_soft_moe_combine_backward"; }
  std::vector<bool> texelBindings() const override { return {true, true, true}; }  // dy, ys, y
  std::vector<uint32_t> specConstants() const override { return {p_.D / 4}; }      // a row in registers
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dy_, ys_, y_, combineW_, dys_, dlogits_;
  SoftMoeParams p_;
};

class SoftMoeDispatchBackward final : public LoopBudgetedOp {
 public:
  // xs: SoftMoeDispatchForward's output for this x and these dispatch weights.
  SoftMoeDispatchBackward(const Program& program, TensorId dxs, TensorId x, TensorId xs, TensorId dispatchW,
                          TensorId dx, TensorId dlogits, SoftMoeParams params);
  std::string shader() const override { return "token_route_soft_moe_dispatch_backward"; }
  std::vector<bool> texelBindings() const override { return {true, true, true}; }  // dxs, x, xs
  std::vector<uint32_t> specConstants() const override { return {p_.D / 4}; }      // a row in registers
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dxs_, x_, xs_, dispatchW_, dx_, dlogits_;
  SoftMoeParams p_;
};

}  // namespace rl
