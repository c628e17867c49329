#include "ops/attention.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ops/shape_check.h"

namespace rl {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Strided = Eigen::OuterStride<>;
// One head's [T, dh] slice of a row-major tensor whose rows are `stride` floats apart.
using HeadMap = Eigen::Map<RowMat, 0, Strided>;
using ConstHeadMap = Eigen::Map<const RowMat, 0, Strided>;
using SquareMap = Eigen::Map<RowMat>;

AttentionParams checked(AttentionParams p, const std::string& op) {
  if (p.batch == 0 || p.seq == 0 || p.heads == 0 || p.headDim == 0)
    throw std::invalid_argument(op + ": batch, seq, heads and headDim must all be >= 1");
  if (p.headDim % 4 != 0)
    throw std::invalid_argument(op + ": headDim " + std::to_string(p.headDim) +
                                " is not a multiple of 4 (heads are read as 4-float texels)");
  if (p.causal > 1) throw std::invalid_argument(op + ": causal must be 0 or 1");
  if (p.scale == 0.f) p.scale = 1.f / std::sqrt(float(p.headDim));
  return p;
}

// Words of each tensor.
uint64_t rows(const AttentionParams& p) { return uint64_t(p.batch) * p.seq; }
uint64_t width(const AttentionParams& p) { return uint64_t(p.heads) * p.headDim; }
uint64_t probWords(const AttentionParams& p) { return uint64_t(p.batch) * p.heads * p.seq * p.seq; }
uint64_t lseWords(const AttentionParams& p) { return uint64_t(p.batch) * p.heads * p.seq * 4; }
uint64_t tiles(const AttentionParams& p) { return uint64_t(p.batch) * p.heads * ceilDiv(p.seq, kAttentionRows); }

}  // namespace

// --- forward ---------------------------------------------------------------------------------

AttentionForward::AttentionForward(const Program& program, TensorId qkv, TensorId o, TensorId probs, TensorId lse,
                                   AttentionParams params)
    : LoopBudgetedOp("attention_fwd(" + program.info(o).name + ")"), qkv_(qkv), o_(o), probs_(probs), lse_(lse) {
  p_ = checked(params, label_);
  requireWords(program, qkv, rows(p_) * 3 * width(p_), label_, "qkv");
  requireWords(program, o, rows(p_) * width(p_), label_, "o");
  requireWords(program, probs, probWords(p_), label_, "probs");
  requireWords(program, lse, lseWords(p_), label_, "lse");
  // Exact ranges: a texel view must cover a multiple of 4 words (it does: D is a multiple of 4).
  setup(p_, tiles(p_),
        {{program.info(qkv).offset, rows(p_) * 3 * width(p_)}, bind(program, o), bind(program, probs), bind(program, lse)});
  // Per item: the scores pass and the values pass over the keys, and the zeroing of each of its
  // R rows' masked probabilities; plus the grid-stride step itself.
  setLoopBudget(uint64_t(p_.seq) * (2 + kAttentionRows) + 1);
}

void AttentionForward::runCpu(const ArenaView& arena) const {
  const Eigen::Index T = p_.seq, dh = p_.headDim, D = width(p_);
  const float* qkv = arena.f(qkv_);
  float* o = arena.f(o_);
  float* probs = arena.f(probs_);
  float* lse = arena.f(lse_);
  for (uint32_t b = 0; b < p_.batch; ++b)
    for (uint32_t h = 0; h < p_.heads; ++h) {
      const float* q = qkv + b * T * 3 * D + h * dh;
      ConstHeadMap Q(q, T, dh, Strided(3 * D)), K(q + D, T, dh, Strided(3 * D)), V(q + 2 * D, T, dh, Strided(3 * D));
      SquareMap P(probs + (uint64_t(b) * p_.heads + h) * T * T, T, T);
      P.noalias() = p_.scale * (Q * K.transpose());
      for (Eigen::Index i = 0; i < T; ++i) {
        const Eigen::Index len = p_.causal ? i + 1 : T;  // keys that take part
        float* r = &P(i, 0);
        Eigen::Map<Eigen::ArrayXf> row(r, len);
        const float m = *std::max_element(r, r + len);
        row -= m;
        row = row.exp();
        const float sum = row.sum();
        row /= sum;
        std::fill(r + len, r + T, 0.f);
        float* stats = lse + ((uint64_t(b) * p_.heads + h) * T + i) * 4;
        stats[0] = m + std::log(sum);
        std::fill(stats + 1, stats + 4, 0.f);
      }
      HeadMap(o + b * T * D + h * dh, T, dh, Strided(D)).noalias() = P * V;
    }
}

// --- backward --------------------------------------------------------------------------------

AttentionBackward::AttentionBackward(const Program& program, TensorId qkv, TensorId o, TensorId probs, TensorId lse,
                                     TensorId dout, TensorId dqkv, AttentionParams params)
    : LoopBudgetedOp("attention_bwd(" + program.info(dqkv).name + ")"), qkv_(qkv), o_(o), probs_(probs), lse_(lse),
      dout_(dout), dqkv_(dqkv) {
  p_ = checked(params, label_);
  requireWords(program, qkv, rows(p_) * 3 * width(p_), label_, "qkv");
  requireWords(program, o, rows(p_) * width(p_), label_, "o");
  requireWords(program, probs, probWords(p_), label_, "probs");
  requireWords(program, lse, lseWords(p_), label_, "lse");
  requireWords(program, dout, rows(p_) * width(p_), label_, "dout");
  requireWords(program, dqkv, rows(p_) * 3 * width(p_), label_, "dqkv");
  auto exact = [&](TensorId t, uint64_t words) { return Binding{program.info(t).offset, words}; };
  // probs is not bound: the shader recomputes P from lse (see the header).
  setup(p_, 2 * tiles(p_),
        {exact(qkv, rows(p_) * 3 * width(p_)), exact(o, rows(p_) * width(p_)), exact(dout, rows(p_) * width(p_)),
         exact(lse, lseWords(p_)), bind(program, dqkv)});
  // Per item: one pass over the keys (dq) or the queries (dk, dv), plus the grid-stride step.
  setLoopBudget(uint64_t(p_.seq) + 1);
}

void AttentionBackward::runCpu(const ArenaView& arena) const {
  const Eigen::Index T = p_.seq, dh = p_.headDim, D = width(p_);
  const float* qkv = arena.f(qkv_);
  const float* o = arena.f(o_);
  const float* probs = arena.f(probs_);
  const float* dout = arena.f(dout_);
  float* dqkv = arena.f(dqkv_);
  thread_local RowMat dP, dS;  // [T, T] scratch, reused across calls
  thread_local Eigen::VectorXf Dl;
  for (uint32_t b = 0; b < p_.batch; ++b)
    for (uint32_t h = 0; h < p_.heads; ++h) {
      const uint64_t qOff = b * T * 3 * D + h * dh, oOff = b * T * D + h * dh;
      ConstHeadMap Q(qkv + qOff, T, dh, Strided(3 * D)), K(qkv + qOff + D, T, dh, Strided(3 * D)),
          V(qkv + qOff + 2 * D, T, dh, Strided(3 * D));
      ConstHeadMap O(o + oOff, T, dh, Strided(D)), dO(dout + oOff, T, dh, Strided(D));
      Eigen::Map<const RowMat> P(probs + (uint64_t(b) * p_.heads + h) * T * T, T, T);
      dP.noalias() = dO * V.transpose();
      // Dl_i = <do_i, o_i> = sum_j P_ij dP_ij; masked entries have P = 0, so dS = 0 there.
      Dl = (dO.array() * O.array()).rowwise().sum();
      dS = P.array() * (dP.array().colwise() - Dl.array());
      HeadMap(dqkv + qOff, T, dh, Strided(3 * D)).noalias() = p_.scale * (dS * K);
      HeadMap(dqkv + qOff + D, T, dh, Strided(3 * D)).noalias() = p_.scale * (dS.transpose() * Q);
      HeadMap(dqkv + qOff + 2 * D, T, dh, Strided(3 * D)).noalias() = P.transpose() * dO;
    }
}

}  // namespace rl
