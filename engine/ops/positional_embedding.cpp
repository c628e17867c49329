#include "ops/positional_embedding.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "ops/shape_check.h"

namespace rl {

namespace {

PositionalEmbeddingParams checked(const PositionalEmbeddingParams& p, const std::string& op) {
  if (p.rows == 0 || p.seq == 0 || p.width == 0)
    throw std::invalid_argument(op + ": rows, seq and width must all be >= 1");
  if (p.width % 4 != 0)
    throw std::invalid_argument(op + ": width " + std::to_string(p.width) +
                                " is not a multiple of 4 (rows are read as 4-float texels)");
  return p;
}

uint64_t rowWords(const PositionalEmbeddingParams& p) { return uint64_t(p.rows) * p.width; }
uint64_t tableWords(const PositionalEmbeddingParams& p) { return uint64_t(p.seq) * p.width; }

// A float tensor of at least `words` elements, bound to exactly that many (texel views need it).
Binding exactFloat(const Program& program, TensorId t, uint64_t words, const std::string& op, const char* role) {
  requireDType(program, t, DType::F32, op, role);
  requireWords(program, t, words, op, role);
  return {program.info(t).offset, words};
}

}  // namespace

PositionalEmbeddingForward::PositionalEmbeddingForward(const Program& program, TensorId x, TensorId table, TensorId y,
                                                       PositionalEmbeddingParams params)
    : StridedOp("positional_embedding_fwd(" + program.info(y).name + ")"), x_(x), table_(table), y_(y) {
  p_ = checked(params, label_);
  if (y == x || y == table) throw std::invalid_argument(label_ + ": y must be a tensor distinct from x and table");
  setup(p_, p_.rows,
        {exactFloat(program, x, rowWords(p_), label_, "x"), exactFloat(program, table, tableWords(p_), label_, "table"),
         exactFloat(program, y, rowWords(p_), label_, "y")});
}

void PositionalEmbeddingForward::runCpu(const ArenaView& arena) const {
  const uint32_t T = p_.seq, D = p_.width;
  const float* x = arena.f(x_);          // [N, D]
  const float* table = arena.f(table_);  // [T, D]
  float* y = arena.f(y_);                // [N, D]
  for (uint32_t n = 0; n < p_.rows; ++n) {
    const float* pos = table + uint64_t(n % T) * D;
    for (uint32_t d = 0; d < D; ++d) y[uint64_t(n) * D + d] = x[uint64_t(n) * D + d] + pos[d];
  }
}

PositionalEmbeddingBackward::PositionalEmbeddingBackward(const Program& program, TensorId dy, TensorId dtable,
                                                         PositionalEmbeddingParams params)
    : StridedOp("positional_embedding_bwd(" + program.info(dtable).name + ")"), dy_(dy), dtable_(dtable) {
  p_ = checked(params, label_);
  if (dy == dtable) throw std::invalid_argument(label_ + ": dy and dtable must be distinct tensors");
  setup(p_, tableWords(p_) / 4,
        {exactFloat(program, dy, rowWords(p_), label_, "dy"),
         exactFloat(program, dtable, tableWords(p_), label_, "dtable")});
}

void PositionalEmbeddingBackward::runCpu(const ArenaView& arena) const {
  const uint32_t T = p_.seq, D = p_.width;
  const float* dy = arena.f(dy_);  // [N, D]
  float* dtable = arena.f(dtable_);  // [T, D]
  std::vector<float> sum(D);
  for (uint32_t t = 0; t < T; ++t) {
    std::fill(sum.begin(), sum.end(), 0.f);
    for (uint32_t n = t; n < p_.rows; n += T)
      for (uint32_t d = 0; d < D; ++d) sum[d] += dy[uint64_t(n) * D + d];
    for (uint32_t d = 0; d < D; ++d) dtable[uint64_t(t) * D + d] += sum[d];
  }
}

}  // namespace rl
