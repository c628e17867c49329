#include "ops/token_route_soft_moe.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "ops/shape_check.h"

namespace rl {

namespace {

// Sizes derived from the params (legend in the header).
struct Dims {
  uint32_t B, T, E, S, D, N, J;
  uint64_t slotRows() const { return uint64_t(E) * B * S; }
  // Slot row of column j of sequence b: expert-major, so each expert's B·S rows are contiguous.
  uint64_t row(uint32_t b, uint32_t j) const { return uint64_t(j / S) * B * S + uint64_t(b) * S + j % S; }
  uint32_t chunks() const { return (D + kSoftMoeChunk - 1) / kSoftMoeChunk; }
};

Dims checked(const SoftMoeParams& p, const std::string& op) {
  if (p.B == 0 || p.T == 0 || p.E == 0 || p.S == 0 || p.D == 0 || !(p.temperature > 0.0f) || p.accumulateDx > 1 ||
      p.accumulateDlogits > 1)
    throw std::invalid_argument(op + ": need B, T, E, S, D >= 1, temperature > 0 and 0/1 accumulate flags (B " +
                                std::to_string(p.B) + ", T " + std::to_string(p.T) + ", E " + std::to_string(p.E) +
                                ", S " + std::to_string(p.S) + ", D " + std::to_string(p.D) + ", temperature " +
                                std::to_string(p.temperature) + ")");
  if (p.D % 4 != 0)
    throw std::invalid_argument(op + ": D " + std::to_string(p.D) +
                                " is not a multiple of 4 (feature rows are read as 4-float texels)");
  const uint64_t N = uint64_t(p.B) * p.T, J = uint64_t(p.E) * p.S;
  if (N > (1u << 30) || J > (1u << 20) || N * J > (1ull << 31) || N * p.D > (1ull << 31))
    throw std::invalid_argument(op + ": sizes too large for 32-bit indexing");
  return {p.B, p.T, p.E, p.S, p.D, uint32_t(N), uint32_t(J)};
}

void requireFloat(const Program& program, TensorId t, uint64_t words, const std::string& op, const char* role) {
  requireDType(program, t, DType::F32, op, role);
  requireWords(program, t, words, op, role);
}

// Exactly `words` of tensor t: a texel view must cover a multiple of 4 words (D is).
Binding exact(const Program& program, TensorId t, uint64_t words) { return {program.info(t).offset, words}; }

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatMap = Eigen::Map<RowMat>;
using ConstMatMap = Eigen::Map<const RowMat>;

// Sequence b's T rows of an [N, width] matrix.
MatMap sequenceRows(float* m, const Dims& d, uint32_t b, uint32_t width) {
  return MatMap(m + size_t(b) * d.T * width, d.T, width);
}
ConstMatMap sequenceRows(const float* m, const Dims& d, uint32_t b, uint32_t width) {
  return ConstMatMap(m + size_t(b) * d.T * width, d.T, width);
}
// Expert e's S slot rows for sequence b in an [E·B·S, D] slot matrix (contiguous: rows r(b, e·S) ..).
MatMap slotBlock(float* m, const Dims& d, uint32_t b, uint32_t e) {
  return MatMap(m + d.row(b, e * d.S) * d.D, d.S, d.D);
}
ConstMatMap slotBlock(const float* m, const Dims& d, uint32_t b, uint32_t e) {
  return ConstMatMap(m + d.row(b, e * d.S) * d.D, d.S, d.D);
}

}  // namespace

// --- dispatch forward --------------------------------------------------------------------------

SoftMoeDispatchForward::SoftMoeDispatchForward(const Program& program, TensorId logits, TensorId x,
                                               TensorId dispatchW, TensorId combineW, TensorId xs,
                                               SoftMoeParams params)
    : LoopBudgetedOp("soft_moe_dispatch_fwd(" + program.info(xs).name + ")"),
      logits_(logits), x_(x), dispatchW_(dispatchW), combineW_(combineW), xs_(xs), p_(params) {
  const Dims d = checked(p_, label_);
  requireFloat(program, logits, uint64_t(d.N) * d.J, label_, "logits");
  requireFloat(program, x, uint64_t(d.N) * d.D, label_, "x");
  requireFloat(program, dispatchW, uint64_t(d.N) * d.J, label_, "dispatch weights");
  requireFloat(program, combineW, uint64_t(d.N) * d.J, label_, "combine weights");
  requireFloat(program, xs, d.slotRows() * d.D, label_, "xs");
  setup(p_, uint64_t(d.B) * d.J * d.chunks() + d.N,
        {bind(program, logits), exact(program, x, uint64_t(d.N) * d.D), bind(program, dispatchW),
         bind(program, combineW), bind(program, xs)});
  setLoopBudget(3ull * std::max(d.T, d.J) + 2);
}

void SoftMoeDispatchForward::runCpu(const ArenaView& a) const {
  const Dims d = checked(p_, label_);
  const float tau = p_.temperature;
  const float* logits = a.f(logits_);  // [N,J]
  const float* x = a.f(x_);            // [N,D]
  float* Dw = a.f(dispatchW_);         // [N,J]
  float* Cw = a.f(combineW_);          // [N,J]
  float* xs = a.f(xs_);                // [E·B·S, D]
  for (uint32_t b = 0; b < d.B; ++b) {
    // Dispatch weights: each column j a softmax over the sequence's T tokens.
    const auto L = (sequenceRows(logits, d, b, d.J).array() / tau).eval();  // [T,J]
    MatMap W = sequenceRows(Dw, d, b, d.J);
    W = (L.rowwise() - L.colwise().maxCoeff()).exp().matrix();
    W.array().rowwise() /= W.colwise().sum().array();
    // Slot inputs: the S slots of expert e mix the sequence's tokens, xs_block = W_cols^T X.
    const ConstMatMap X = sequenceRows(x, d, b, d.D);  // [T,D]
    for (uint32_t e = 0; e < d.E; ++e) slotBlock(xs, d, b, e).noalias() = W.middleCols(e * d.S, d.S).transpose() * X;
  }
  // Combine weights: each token's row a softmax over the J slots.
  const auto L = (ConstMatMap(logits, d.N, d.J).array() / tau).eval();  // [N,J]
  MatMap C(Cw, d.N, d.J);
  C = (L.colwise() - L.rowwise().maxCoeff()).exp().matrix();
  C.array().colwise() /= C.rowwise().sum().array();
}

// --- combine forward ---------------------------------------------------------------------------

SoftMoeCombineForward::SoftMoeCombineForward(const Program& program, TensorId ys, TensorId combineW, TensorId y,
                                             SoftMoeParams params)
    : LoopBudgetedOp("soft_moe_combine_fwd(" + program.info(y).name + ")"), ys_(ys), combineW_(combineW), y_(y),
      p_(params) {
  const Dims d = checked(p_, label_);
  requireFloat(program, ys, d.slotRows() * d.D, label_, "ys");
  requireFloat(program, combineW, uint64_t(d.N) * d.J, label_, "combine weights");
  requireFloat(program, y, uint64_t(d.N) * d.D, label_, "y");
  setup(p_, uint64_t(d.N) * d.chunks(),
        {exact(program, ys, d.slotRows() * d.D), bind(program, combineW), bind(program, y)});
  setLoopBudget(d.J + 2);
}

void SoftMoeCombineForward::runCpu(const ArenaView& a) const {
  const Dims d = checked(p_, label_);
  const float* ys = a.f(ys_);        // [E·B·S, D]
  const float* Cw = a.f(combineW_);  // [N,J]
  float* y = a.f(y_);                // [N,D]
  for (uint32_t b = 0; b < d.B; ++b) {
    // y_b = Σ_e Cw_b[:, expert e's slots] · ys_block(b, e)
    const ConstMatMap C = sequenceRows(Cw, d, b, d.J);  // [T,J]
    MatMap Y = sequenceRows(y, d, b, d.D);              // [T,D]
    Y.setZero();
    for (uint32_t e = 0; e < d.E; ++e) Y.noalias() += C.middleCols(e * d.S, d.S) * slotBlock(ys, d, b, e);
  }
}

// --- combine backward --------------------------------------------------------------------------

SoftMoeCombineBackward::SoftMoeCombineBackward(const Program& program, TensorId dy, TensorId ys, TensorId y,
                                               TensorId combineW, TensorId dys, TensorId dlogits, SoftMoeParams params)
    : LoopBudgetedOp("soft_moe_combine_bwd(" + program.info(dys).name + ")"),
      dy_(dy), ys_(ys), y_(y), combineW_(combineW), dys_(dys), dlogits_(dlogits), p_(params) {
  const Dims d = checked(p_, label_);
  requireFloat(program, dy, uint64_t(d.N) * d.D, label_, "dy");
  requireFloat(program, ys, d.slotRows() * d.D, label_, "ys");
  requireFloat(program, y, uint64_t(d.N) * d.D, label_, "y");
  requireFloat(program, combineW, uint64_t(d.N) * d.J, label_, "combine weights");
  requireFloat(program, dys, d.slotRows() * d.D, label_, "dys");
  requireFloat(program, dlogits, uint64_t(d.N) * d.J, label_, "dlogits");
  setup(p_, uint64_t(d.B) * d.J * d.chunks() + d.N,
        {exact(program, dy, uint64_t(d.N) * d.D), exact(program, ys, d.slotRows() * d.D),
         exact(program, y, uint64_t(d.N) * d.D), bind(program, combineW), bind(program, dys), bind(program, dlogits)});
  setLoopBudget(std::max<uint64_t>(d.T, d.J) + 2);  // the dot products are unrolled
}

void SoftMoeCombineBackward::runCpu(const ArenaView& a) const {
  const Dims d = checked(p_, label_);
  const float tau = p_.temperature;
  const float* dy = a.f(dy_);        // [N,D]
  const float* ys = a.f(ys_);        // [E·B·S, D]
  const float* Cw = a.f(combineW_);  // [N,J]
  float* dys = a.f(dys_);            // [E·B·S, D]
  float* dlogits = a.f(dlogits_);    // [N,J]
  for (uint32_t b = 0; b < d.B; ++b) {
    const ConstMatMap C = sequenceRows(Cw, d, b, d.J);   // [T,J]
    const ConstMatMap dY = sequenceRows(dy, d, b, d.D);  // [T,D]
    MatMap G = sequenceRows(dlogits, d, b, d.J);         // [T,J]: first g = dCw, then dlogits
    for (uint32_t e = 0; e < d.E; ++e) {
      // dys_block(b, e) = Cw_cols^T dy_b: each slot collects its tokens' gradients.
      slotBlock(dys, d, b, e).noalias() = C.middleCols(e * d.S, d.S).transpose() * dY;
      // g[n, j] = <dy[n,:], ys[r(b,j),:]>
      G.middleCols(e * d.S, d.S).noalias() = dY * slotBlock(ys, d, b, e).transpose();
    }
    // Through each token's softmax: dlogits = Cw (g - Σ_j Cw g) / τ.
    const Eigen::ArrayXf cg = (C.array() * G.array()).rowwise().sum();  // [T]
    G = (C.array() * (G.array().colwise() - cg) / tau).matrix();
  }
}

// --- dispatch backward -------------------------------------------------------------------------

SoftMoeDispatchBackward::SoftMoeDispatchBackward(const Program& program, TensorId dxs, TensorId x, TensorId xs,
                                                 TensorId dispatchW, TensorId dx, TensorId dlogits,
                                                 SoftMoeParams params)
    : LoopBudgetedOp("soft_moe_dispatch_bwd(" + program.info(dx).name + ")"),
      dxs_(dxs), x_(x), xs_(xs), dispatchW_(dispatchW), dx_(dx), dlogits_(dlogits), p_(params) {
  const Dims d = checked(p_, label_);
  requireFloat(program, dxs, d.slotRows() * d.D, label_, "dxs");
  requireFloat(program, x, uint64_t(d.N) * d.D, label_, "x");
  requireFloat(program, xs, d.slotRows() * d.D, label_, "xs");
  requireFloat(program, dispatchW, uint64_t(d.N) * d.J, label_, "dispatch weights");
  requireFloat(program, dx, uint64_t(d.N) * d.D, label_, "dx");
  requireFloat(program, dlogits, uint64_t(d.N) * d.J, label_, "dlogits");
  setup(p_, uint64_t(d.B) * d.J + uint64_t(d.N) * d.chunks(),
        {exact(program, dxs, d.slotRows() * d.D), exact(program, x, uint64_t(d.N) * d.D),
         exact(program, xs, d.slotRows() * d.D), bind(program, dispatchW), bind(program, dx), bind(program, dlogits)});
  setLoopBudget(std::max<uint64_t>(d.T, d.J) + 2);  // the dot products are unrolled
}

void SoftMoeDispatchBackward::runCpu(const ArenaView& a) const {
  const Dims d = checked(p_, label_);
  const float tau = p_.temperature;
  const float* dxs = a.f(dxs_);       // [E·B·S, D]
  const float* x = a.f(x_);           // [N,D]
  const float* Dw = a.f(dispatchW_);  // [N,J]
  float* dx = a.f(dx_);               // [N,D]
  float* dlogits = a.f(dlogits_);     // [N,J]
  thread_local RowMat H;              // [T,J] h[t, j] = <dxs[r(b,j),:], x[b·T+t,:]>
  H.resize(d.T, d.J);
  for (uint32_t b = 0; b < d.B; ++b) {
    const ConstMatMap W = sequenceRows(Dw, d, b, d.J);  // [T,J]
    const ConstMatMap X = sequenceRows(x, d, b, d.D);   // [T,D]
    MatMap dX = sequenceRows(dx, d, b, d.D);            // [T,D]
    MatMap dL = sequenceRows(dlogits, d, b, d.J);       // [T,J]
    if (!p_.accumulateDx) dX.setZero();
    for (uint32_t e = 0; e < d.E; ++e) {
      const ConstMatMap G = slotBlock(dxs, d, b, e);  // [S,D]
      H.middleCols(e * d.S, d.S).noalias() = X * G.transpose();
      // dx_b += Dw_cols · dxs_block(b, e): each token gathers the gradients of its slots.
      dX.noalias() += W.middleCols(e * d.S, d.S) * G;
    }
    // Through each column's softmax over the sequence: Dw (h - Σ_t Dw h) / τ.
    const Eigen::RowVectorXf wh = (W.array() * H.array()).colwise().sum().matrix();  // [J]
    const RowMat v = (W.array() * (H.array().rowwise() - wh.array()) / tau).matrix();
    if (p_.accumulateDlogits)
      dL += v;
    else
      dL = v;
  }
}

}  // namespace rl
