#pragma once
// Learned positional embedding, added to the token embeddings.
//
// Legend: N = B T rows (row n is position n mod T of sequence n / T), T positions, D width (a
// multiple of 4: rows are read as 4-float texels).
//   x [N, D], table [T, D] (a parameter), y [N, D] (distinct from x).
//   forward:  y[n,:] = x[n,:] + table[n mod T,:]
//   backward: dtable[t,:] += Σ_{n ≡ t (mod T)} dy[n,:]   (n ascending, summed first, then added:
//             a parameter gradient accumulates). dx = dy is the builder's business: it passes dy on.
// Shaders positional_embedding_forward (one work item per row of y) and
// positional_embedding_backward (one per texel of dtable, so each output has one writer: no atomics).
#include <cstdint>
#include <string>

#include "ops/strided_op.h"

namespace rl {

// Mirrors the push-constant block of shaders/positional_embedding_*.comp.
struct PositionalEmbeddingParams {
  uint32_t rows = 0, seq = 0, width = 0;
};
static_assert(sizeof(PositionalEmbeddingParams) == 12);

class PositionalEmbeddingForward final : public StridedOp {
 public:
  PositionalEmbeddingForward(const Program& program, TensorId x, TensorId table, TensorId y,
                             PositionalEmbeddingParams params);
  std::string shader() const override { return "positional_embedding_forward"; }
  std::vector<bool> texelBindings() const override { return {true, true}; }  // x, table
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId x_, table_, y_;
  PositionalEmbeddingParams p_;
};

class PositionalEmbeddingBackward final : public StridedOp {
 public:
  PositionalEmbeddingBackward(const Program& program, TensorId dy, TensorId dtable, PositionalEmbeddingParams params);
  std::string shader() const override { return "positional_embedding_backward"; }
  std::vector<bool> texelBindings() const override { return {true}; }  // dy
  void runCpu(const ArenaView& arena) const override;

 private:
  TensorId dy_, dtable_;
  PositionalEmbeddingParams p_;
};

}  // namespace rl
