#pragma once
// Multi-head self-attention core (no projections: those are linear ops around it).
//
// Legend: B sequences, T positions, H heads, dh = head width, D = H dh, N = B T rows.
// Layout: qkv [N, 3D], row n = b T + t holds [q | k | v], each D wide with head h in columns
//   h dh .. h dh + dh - 1 of its section: the output of ONE linear with O = 3D (the rows of its
//   weight stacked q, k, v like torch.nn.MultiheadAttention.in_proj_weight).
//   o [N, D] heads concatenated (h dh + c), ready for the output projection.
//   probs [B, H, T, T] the attention probabilities, kept for visualising (and the CPU backward).
//   lse [B, H, T, 4] per query row (log-sum-exp of its scaled scores, 0, 0, 0): one texel per row.
//
//   forward:  S[b,h,i,j] = scale <q[b,i,h,:], k[b,j,h,:]>  (scale = 1/sqrt(dh) by default)
//             causal: only j <= i take part (P[b,h,i,j] = 0 for j > i)
//             P[b,h,i,:] = softmax_j S[b,h,i,:];  o[b,i,h,:] = sum_j P[b,h,i,j] v[b,j,h,:]
//             lse[b,h,i,0] = log sum_j e^S[b,h,i,j] (over the keys that take part)
//   backward (written, =): with dP_ij = <do_i, v_j> and Dl_i = <do_i, o_i> = sum_j P_ij dP_ij,
//             dS_ij = P_ij (dP_ij - Dl_i)
//             dq_i = scale sum_j dS_ij k_j;  dk_j = scale sum_i dS_ij q_i;  dv_j = sum_i P_ij do_i
//
// Fused: one dispatch forward (shaders/attention_forward.comp) and one backward
// (shaders/attention_backward.comp: the first half of its items write dq, the second dk and dv;
// each recomputes what it needs, so nothing is stored between them). A work item takes
// kAttentionRows consecutive positions of one head, so each key / value / query texel it loads
// serves that many rows. The shaders read qkv, o, do and lse as rgba32f texel buffers (gathers on
// lavapipe; storage-buffer loads are per-lane loops there) and the backward recomputes
// P_ij = e^(S_ij - lse_i) instead of loading probs; the CPU backward uses probs. Sums run in
// ascending j (forward, dq) and i (dk, dv): deterministic.
// dh must be a multiple of 4, so a head's slice starts on a texel.
// Long sequences on lavapipe: a work item loops over up to T keys (queries) a few times, so the
// CPU-class grid is widened to keep every invocation under llvmpipe's loop limit (LoopBudgetedOp).
#include <cstdint>
#include <string>

#include "ops/loop_budgeted_op.h"

namespace rl {

constexpr uint32_t kAttentionRows = 4;  // positions per work item (the shaders' R)

// Mirrors the push-constant block of shaders/attention_*.comp.
struct AttentionParams {
  uint32_t batch = 0, seq = 0, heads = 0, headDim = 0;
  uint32_t causal = 0;  // 1: position i attends to j <= i only
  float scale = 0;      // 0 = 1/sqrt(headDim), filled in by the constructors
};
static_assert(sizeof(AttentionParams) == 24);

class AttentionForward final : public LoopBudgetedOp {
 public:
  AttentionForward(const Program& program, TensorId qkv, TensorId o, TensorId probs, TensorId lse,
                   AttentionParams params);
  std::string shader() const override { return "attention_forward"; }
  std::vector<uint32_t> specConstants() const override { return {p_.headDim / 4}; }
  std::vector<bool> texelBindings() const override { return {true}; }  // qkv
  void runCpu(const ArenaView& arena) const override;
  const AttentionParams& params() const { return p_; }

 private:
  TensorId qkv_, o_, probs_, lse_;
  AttentionParams p_;
};

// dqkv is written in full (q, k and v sections): the qkv tensor feeds only this op.
class AttentionBackward final : public LoopBudgetedOp {
 public:
  AttentionBackward(const Program& program, TensorId qkv, TensorId o, TensorId probs, TensorId lse, TensorId dout,
                    TensorId dqkv, AttentionParams params);
  std::string shader() const override { return "attention_backward"; }
  std::vector<uint32_t> specConstants() const override { return {p_.headDim / 4}; }
  std::vector<bool> texelBindings() const override { return {true, true, true, true}; }  // qkv, o, do, lse
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId qkv_, o_, probs_, lse_, dout_, dqkv_;
  AttentionParams p_;
};

}  // namespace rl
