#include "ops/mean_pool.h"

#include <algorithm>
#include <stdexcept>

#include "ops/shape_check.h"

namespace rl {

namespace {

MeanPoolParams checked(const MeanPoolParams& p, const std::string& op) {
  if (p.batch == 0 || p.seq == 0 || p.width == 0)
    throw std::invalid_argument(op + ": batch, seq and width must all be >= 1");
  if (p.width % 4 != 0)
    throw std::invalid_argument(op + ": width " + std::to_string(p.width) +
                                " is not a multiple of 4 (rows are read as 4-float texels)");
  return p;
}

uint64_t inWords(const MeanPoolParams& p) { return uint64_t(p.batch) * p.seq * p.width; }
uint64_t outWords(const MeanPoolParams& p) { return uint64_t(p.batch) * p.width; }

// A float tensor of at least `words` elements, bound to exactly that many (texel views need it).
Binding exactFloat(const Program& program, TensorId t, uint64_t words, const std::string& op, const char* role) {
  requireDType(program, t, DType::F32, op, role);
  requireWords(program, t, words, op, role);
  return {program.info(t).offset, words};
}

}  // namespace

MeanPoolForward::MeanPoolForward(const Program& program, TensorId x, TensorId y, MeanPoolParams params)
    : StridedOp("mean_pool_fwd(" + program.info(y).name + ")"), x_(x), y_(y) {
  p_ = checked(params, label_);
  if (x == y) throw std::invalid_argument(label_ + ": x and y must be distinct tensors");
  setup(p_, outWords(p_) / 4,
        {exactFloat(program, x, inWords(p_), label_, "x"), exactFloat(program, y, outWords(p_), label_, "y")});
}

void MeanPoolForward::runCpu(const ArenaView& arena) const {
  const uint32_t T = p_.seq, D = p_.width;
  const float* x = arena.f(x_);  // [B, T, D]
  float* y = arena.f(y_);        // [B, D]
  const float invT = 1.f / float(T);
  for (uint32_t b = 0; b < p_.batch; ++b) {
    float* yb = y + uint64_t(b) * D;
    std::fill_n(yb, D, 0.f);
    for (uint32_t t = 0; t < T; ++t)  // t ascending for every column, rows read contiguously
      for (uint32_t d = 0; d < D; ++d) yb[d] += x[(uint64_t(b) * T + t) * D + d];
    for (uint32_t d = 0; d < D; ++d) yb[d] *= invT;
  }
}

MeanPoolBackward::MeanPoolBackward(const Program& program, TensorId dy, TensorId dx, MeanPoolParams params)
    : StridedOp("mean_pool_bwd(" + program.info(dx).name + ")"), dy_(dy), dx_(dx) {
  p_ = checked(params, label_);
  if (dx == dy) throw std::invalid_argument(label_ + ": dy and dx must be distinct tensors");
  setup(p_, uint64_t(p_.batch) * p_.seq,
        {exactFloat(program, dy, outWords(p_), label_, "dy"), exactFloat(program, dx, inWords(p_), label_, "dx")});
}

void MeanPoolBackward::runCpu(const ArenaView& arena) const {
  const uint32_t T = p_.seq, D = p_.width;
  const float* dy = arena.f(dy_);  // [B, D]
  float* dx = arena.f(dx_);        // [B, T, D]
  const float invT = 1.f / float(T);
  for (uint32_t b = 0; b < p_.batch; ++b)
    for (uint32_t t = 0; t < T; ++t)
      for (uint32_t d = 0; d < D; ++d) dx[(uint64_t(b) * T + t) * D + d] = dy[uint64_t(b) * D + d] * invT;
}

}  // namespace rl
