#include "ops/token_embedding.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "ops/shape_check.h"

namespace rl {

namespace {

TokenEmbeddingParams checked(const TokenEmbeddingParams& p, const std::string& op) {
  if (p.rows == 0 || p.vocab == 0 || p.width == 0)
    throw std::invalid_argument(op + ": rows, vocab and width must all be >= 1");
  if (p.width % 4 != 0)
    throw std::invalid_argument(op + ": width " + std::to_string(p.width) +
                                " is not a multiple of 4 (rows are read as 4-float texels)");
  if (p.vocab > uint32_t(INT32_MAX)) throw std::invalid_argument(op + ": vocab exceeds the int32 id range");
  return p;
}

uint64_t rowWords(const TokenEmbeddingParams& p) { return uint64_t(p.rows) * p.width; }
uint64_t tableWords(const TokenEmbeddingParams& p) { return uint64_t(p.vocab) * p.width; }

// A tensor of this type and at least `words` elements, bound to exactly that many (texel views
// need a multiple of 4 words).
Binding exact(const Program& program, TensorId t, DType type, uint64_t words, const std::string& op, const char* role) {
  requireDType(program, t, type, op, role);
  requireWords(program, t, words, op, role);
  return {program.info(t).offset, words};
}

bool inVocab(int32_t id, uint32_t vocab) { return id >= 0 && uint32_t(id) < vocab; }

}  // namespace

TokenEmbeddingForward::TokenEmbeddingForward(const Program& program, TensorId ids, TensorId table, TensorId y,
                                             TokenEmbeddingParams params)
    : StridedOp("token_embedding_fwd(" + program.info(y).name + ")"), ids_(ids), table_(table), y_(y) {
  p_ = checked(params, label_);
  if (y == table) throw std::invalid_argument(label_ + ": y must be a tensor distinct from table");
  setup(p_, p_.rows,
        {exact(program, ids, DType::I32, p_.rows, label_, "ids"),
         exact(program, table, DType::F32, tableWords(p_), label_, "table"),
         exact(program, y, DType::F32, rowWords(p_), label_, "y")});
}

void TokenEmbeddingForward::runCpu(const ArenaView& arena) const {
  const uint32_t D = p_.width;
  const int32_t* ids = arena.i(ids_);    // [N]
  const float* table = arena.f(table_);  // [V, D]
  float* y = arena.f(y_);                // [N, D]
  for (uint32_t n = 0; n < p_.rows; ++n) {
    float* row = y + uint64_t(n) * D;
    if (inVocab(ids[n], p_.vocab))
      std::copy_n(table + uint64_t(ids[n]) * D, D, row);
    else
      std::fill_n(row, D, 0.f);
  }
}

TokenEmbeddingBackward::TokenEmbeddingBackward(const Program& program, TensorId ids, TensorId dy, TensorId dtable,
                                               TokenEmbeddingParams params)
    : StridedOp("token_embedding_bwd(" + program.info(dtable).name + ")"), ids_(ids), dy_(dy), dtable_(dtable) {
  p_ = checked(params, label_);
  if (dy == dtable) throw std::invalid_argument(label_ + ": dy and dtable must be distinct tensors");
  const uint64_t tiles =
      uint64_t(ceilDiv(p_.vocab, kTokenEmbeddingTokens)) * ceilDiv(p_.width / 4, kTokenEmbeddingBlock);
  setup(p_, tiles,
        {exact(program, ids, DType::I32, p_.rows, label_, "ids"),
         exact(program, dy, DType::F32, rowWords(p_), label_, "dy"),
         exact(program, dtable, DType::F32, tableWords(p_), label_, "dtable")});
}

void TokenEmbeddingBackward::runCpu(const ArenaView& arena) const {
  const uint32_t D = p_.width;
  const int32_t* ids = arena.i(ids_);  // [N]
  const float* dy = arena.f(dy_);      // [N, D]
  float* dtable = arena.f(dtable_);    // [V, D]
  // Per-token sums first (n ascending, as the shader), then one add into the gradient.
  std::vector<float> sum(tableWords(p_), 0.f);
  for (uint32_t n = 0; n < p_.rows; ++n) {
    if (!inVocab(ids[n], p_.vocab)) continue;
    float* s = sum.data() + uint64_t(ids[n]) * D;
    for (uint32_t d = 0; d < D; ++d) s[d] += dy[uint64_t(n) * D + d];
  }
  for (uint64_t i = 0; i < sum.size(); ++i) dtable[i] += sum[i];
}

}  // namespace rl
