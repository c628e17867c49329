#include "ops/token_route_soft_moe.h"

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
  uint64_t dotIterations() const { return D / 4 + 1; }  // a D-long dot product over texels
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

// Softmax over the T tokens of sequence b for column j: out[t] = Dw[b·T+t, j].
void columnSoftmax(const Dims& d, float tau, const float* logits, uint32_t b, uint32_t j, float* out) {
  float m = -INFINITY;
  for (uint32_t t = 0; t < d.T; ++t) m = std::max(m, logits[size_t(b * d.T + t) * d.J + j] / tau);
  float sum = 0.0f;
  for (uint32_t t = 0; t < d.T; ++t) sum += (out[t] = std::exp(logits[size_t(b * d.T + t) * d.J + j] / tau - m));
  for (uint32_t t = 0; t < d.T; ++t) out[t] /= sum;
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
  std::vector<float> w(d.T);
  for (uint32_t b = 0; b < d.B; ++b)
    for (uint32_t j = 0; j < d.J; ++j) {
      columnSoftmax(d, tau, logits, b, j, w.data());
      float* out = xs + d.row(b, j) * d.D;
      std::fill(out, out + d.D, 0.0f);
      for (uint32_t t = 0; t < d.T; ++t) {
        const size_t n = size_t(b) * d.T + t;
        Dw[n * d.J + j] = w[t];
        for (uint32_t k = 0; k < d.D; ++k) out[k] += w[t] * x[n * d.D + k];
      }
    }
  for (uint32_t n = 0; n < d.N; ++n) {  // combine weights: softmax over the slots of each token
    const float* l = logits + size_t(n) * d.J;
    float* c = Cw + size_t(n) * d.J;
    float m = -INFINITY;
    for (uint32_t j = 0; j < d.J; ++j) m = std::max(m, l[j] / tau);
    float sum = 0.0f;
    for (uint32_t j = 0; j < d.J; ++j) sum += (c[j] = std::exp(l[j] / tau - m));
    for (uint32_t j = 0; j < d.J; ++j) c[j] /= sum;
  }
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
  const float* ys = a.f(ys_);       // [E·B·S, D]
  const float* Cw = a.f(combineW_);  // [N,J]
  float* y = a.f(y_);                // [N,D]
  for (uint32_t n = 0; n < d.N; ++n) {
    float* out = y + size_t(n) * d.D;
    std::fill(out, out + d.D, 0.0f);
    for (uint32_t j = 0; j < d.J; ++j) {
      const float c = Cw[size_t(n) * d.J + j];
      const float* in = ys + d.row(n / d.T, j) * d.D;
      for (uint32_t k = 0; k < d.D; ++k) out[k] += c * in[k];
    }
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
  setLoopBudget(std::max<uint64_t>(d.T, (uint64_t(d.J) + 1) * (d.dotIterations() + 1)) + 2);
}

void SoftMoeCombineBackward::runCpu(const ArenaView& a) const {
  const Dims d = checked(p_, label_);
  const float tau = p_.temperature;
  const float* dy = a.f(dy_);        // [N,D]
  const float* ys = a.f(ys_);        // [E·B·S, D]
  const float* Cw = a.f(combineW_);  // [N,J]
  float* dys = a.f(dys_);            // [E·B·S, D]
  float* dlogits = a.f(dlogits_);    // [N,J]
  // dys: each slot row collects the gradients of its sequence's tokens, weighted by their Cw.
  for (uint32_t b = 0; b < d.B; ++b)
    for (uint32_t j = 0; j < d.J; ++j) {
      float* out = dys + d.row(b, j) * d.D;
      std::fill(out, out + d.D, 0.0f);
      for (uint32_t t = 0; t < d.T; ++t) {
        const size_t n = size_t(b) * d.T + t;
        for (uint32_t k = 0; k < d.D; ++k) out[k] += Cw[n * d.J + j] * dy[n * d.D + k];
      }
    }
  // dlogits through the per-token softmax of the combine weights.
  std::vector<float> g(d.J);
  for (uint32_t n = 0; n < d.N; ++n) {
    const float* c = Cw + size_t(n) * d.J;
    float cg = 0.0f;  // Σ_j Cw g
    for (uint32_t j = 0; j < d.J; ++j) {
      const float* in = ys + d.row(n / d.T, j) * d.D;
      float dot = 0.0f;
      for (uint32_t k = 0; k < d.D; ++k) dot += dy[size_t(n) * d.D + k] * in[k];
      g[j] = dot;
      cg += c[j] * dot;
    }
    for (uint32_t j = 0; j < d.J; ++j) dlogits[size_t(n) * d.J + j] = c[j] * (g[j] - cg) / tau;
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
  setLoopBudget(std::max<uint64_t>((uint64_t(d.T) + 1) * (d.dotIterations() + 1), d.J) + 2);
}

void SoftMoeDispatchBackward::runCpu(const ArenaView& a) const {
  const Dims d = checked(p_, label_);
  const float tau = p_.temperature;
  const float* dxs = a.f(dxs_);       // [E·B·S, D]
  const float* x = a.f(x_);           // [N,D]
  const float* Dw = a.f(dispatchW_);  // [N,J]
  float* dx = a.f(dx_);               // [N,D]
  float* dlogits = a.f(dlogits_);     // [N,J]
  // dlogits through each column's softmax over the tokens of its sequence.
  std::vector<float> h(d.T);
  for (uint32_t b = 0; b < d.B; ++b)
    for (uint32_t j = 0; j < d.J; ++j) {
      const float* g = dxs + d.row(b, j) * d.D;
      float wh = 0.0f;  // Σ_t Dw h
      for (uint32_t t = 0; t < d.T; ++t) {
        const size_t n = size_t(b) * d.T + t;
        float dot = 0.0f;
        for (uint32_t k = 0; k < d.D; ++k) dot += g[k] * x[n * d.D + k];
        h[t] = dot;
        wh += Dw[n * d.J + j] * dot;
      }
      for (uint32_t t = 0; t < d.T; ++t) {
        const size_t i = (size_t(b) * d.T + t) * d.J + j;
        const float v = Dw[i] * (h[t] - wh) / tau;
        dlogits[i] = p_.accumulateDlogits ? dlogits[i] + v : v;
      }
    }
  // dx: each token gathers the gradients of the slots it was mixed into.
  for (uint32_t n = 0; n < d.N; ++n) {
    float* out = dx + size_t(n) * d.D;
    if (!p_.accumulateDx) std::fill(out, out + d.D, 0.0f);
    for (uint32_t j = 0; j < d.J; ++j) {
      const float w = Dw[size_t(n) * d.J + j];
      const float* g = dxs + d.row(n / d.T, j) * d.D;
      for (uint32_t k = 0; k < d.D; ++k) out[k] += w * g[k];
    }
  }
}

}  // namespace rl
