#pragma once
// Token embedding: a lookup of one table row per token id.
//
// Legend: N = B T rows (tokens), V vocabulary, D width (a multiple of 4: rows are read as 4-float
// texels).
//   ids int32 [N], table [V, D] (a parameter), y [N, D].
//   forward:  y[n,:] = table[ids[n],:], or a zero row when ids[n] lies outside [0, V)
//   backward: dtable[v,:] += Σ_{n : ids[n] = v} dy[n,:]   (n ascending, summed first, then added:
//             a parameter gradient accumulates; ids outside [0, V) contribute nothing)
// Shaders token_embedding_forward (one work item per row of y) and token_embedding_backward (one
// per tile of kTokenEmbeddingTokens ids x kTokenEmbeddingBlock texels: it alone writes that tile of
// dtable and scans all N ids in ascending order, so the sums are deterministic without atomics;
// see the shader for why it is a dense select). table and dy are read as rgba32f texel buffers;
// ids as a storage buffer (int bits must not pass through a float view).
#include <cstdint>
#include <string>

#include "ops/strided_op.h"

namespace rl {

constexpr uint32_t kTokenEmbeddingTokens = 8;  // token ids per backward work item
constexpr uint32_t kTokenEmbeddingBlock = 4;   // texels (16 columns) per backward work item

// Mirrors the push-constant block of shaders/token_embedding_*.comp.
struct TokenEmbeddingParams {
  uint32_t rows = 0, vocab = 0, width = 0;
};
static_assert(sizeof(TokenEmbeddingParams) == 12);

class TokenEmbeddingForward final : public StridedOp {
 public:
  TokenEmbeddingForward(const Program& program, TensorId ids, TensorId table, TensorId y, TokenEmbeddingParams params);
  std::string shader() const override { return "token_embedding_forward"; }
  std::vector<bool> texelBindings() const override { return {false, true}; }  // table
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId ids_, table_, y_;
  TokenEmbeddingParams p_;
};

class TokenEmbeddingBackward final : public StridedOp {
 public:
  TokenEmbeddingBackward(const Program& program, TensorId ids, TensorId dy, TensorId dtable,
                         TokenEmbeddingParams params);
  std::string shader() const override { return "token_embedding_backward"; }
  std::vector<bool> texelBindings() const override { return {false, true}; }  // dy
  // Few, heavy work items: small workgroups, so lavapipe spreads them over its threads.
  uint32_t localSize() const override { return 16; }
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId ids_, dy_, dtable_;
  TokenEmbeddingParams p_;
};

}  // namespace rl
