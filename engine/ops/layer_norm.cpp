#include "ops/layer_norm.h"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "ops/shape_check.h"

namespace rl {

namespace {

LayerNormParams checked(const LayerNormParams& p, const std::string& op) {
  if (p.rows == 0 || p.width == 0) throw std::invalid_argument(op + ": rows and width must both be >= 1");
  if (p.width % 4 != 0)
    throw std::invalid_argument(op + ": width " + std::to_string(p.width) +
                                " is not a multiple of 4 (rows are read as 4-float texels)");
  if (!(p.eps > 0.f) || !std::isfinite(p.eps))
    throw std::invalid_argument(op + ": eps must be a positive finite number");
  return p;
}

// A float tensor of at least `words` elements, bound to exactly that many (texel views need it).
Binding exactFloat(const Program& program, TensorId t, uint64_t words, const std::string& op, const char* role) {
  requireDType(program, t, DType::F32, op, role);
  requireWords(program, t, words, op, role);
  return {program.info(t).offset, words};
}

void requireDistinct(std::initializer_list<TensorId> written, std::initializer_list<TensorId> all,
                     const std::string& op) {
  for (TensorId w : written) {
    int same = 0;
    for (TensorId t : all) same += t == w;
    if (same != 1) throw std::invalid_argument(op + ": every output must be a tensor distinct from all the others");
  }
}

}  // namespace

// --- forward ---------------------------------------------------------------------------------

LayerNormForward::LayerNormForward(const Program& program, TensorId x, TensorId gamma, TensorId beta, TensorId y,
                                   TensorId mean, TensorId rstd, LayerNormParams params)
    : StridedOp("layer_norm_fwd(" + program.info(y).name + ")"), x_(x), gamma_(gamma), beta_(beta), y_(y),
      mean_(mean), rstd_(rstd) {
  p_ = checked(params, label_);
  requireDistinct({y, mean, rstd}, {x, gamma, beta, y, mean, rstd}, label_);
  const uint64_t ND = uint64_t(p_.rows) * p_.width;
  setup(p_, p_.rows,
        {exactFloat(program, x, ND, label_, "x"), exactFloat(program, gamma, p_.width, label_, "gamma"),
         exactFloat(program, beta, p_.width, label_, "beta"), exactFloat(program, y, ND, label_, "y"),
         exactFloat(program, mean, p_.rows, label_, "mean"), exactFloat(program, rstd, p_.rows, label_, "rstd")});
}

void LayerNormForward::runCpu(const ArenaView& arena) const {
  const uint32_t D = p_.width;
  const float* x = arena.f(x_);          // [N, D]
  const float* gamma = arena.f(gamma_);  // [D]
  const float* beta = arena.f(beta_);    // [D]
  float* y = arena.f(y_);                // [N, D]
  float* mean = arena.f(mean_);          // [N]
  float* rstd = arena.f(rstd_);          // [N]
  for (uint32_t n = 0; n < p_.rows; ++n) {
    const float* xn = x + uint64_t(n) * D;
    float sum = 0.f;
    for (uint32_t d = 0; d < D; ++d) sum += xn[d];
    const float mu = sum / float(D);
    float sq = 0.f;
    for (uint32_t d = 0; d < D; ++d) sq += (xn[d] - mu) * (xn[d] - mu);
    const float r = 1.f / std::sqrt(sq / float(D) + p_.eps);
    for (uint32_t d = 0; d < D; ++d) y[uint64_t(n) * D + d] = (xn[d] - mu) * r * gamma[d] + beta[d];
    mean[n] = mu;
    rstd[n] = r;
  }
}

// --- backward --------------------------------------------------------------------------------

LayerNormBackward::LayerNormBackward(const Program& program, TensorId x, TensorId gamma, TensorId mean, TensorId rstd,
                                     TensorId dy, TensorId dx, TensorId dgamma, TensorId dbeta, LayerNormParams params)
    : StridedOp("layer_norm_bwd(" + program.info(dx).name + ")"), x_(x), gamma_(gamma), mean_(mean), rstd_(rstd),
      dy_(dy), dx_(dx), dgamma_(dgamma), dbeta_(dbeta) {
  p_ = checked(params, label_);
  requireDistinct({dx, dgamma, dbeta}, {x, gamma, mean, rstd, dy, dx, dgamma, dbeta}, label_);
  const uint64_t ND = uint64_t(p_.rows) * p_.width;
  setup(p_, p_.width / 4 + p_.rows,
        {exactFloat(program, x, ND, label_, "x"), exactFloat(program, gamma, p_.width, label_, "gamma"),
         exactFloat(program, mean, p_.rows, label_, "mean"), exactFloat(program, rstd, p_.rows, label_, "rstd"),
         exactFloat(program, dy, ND, label_, "dy"), exactFloat(program, dx, ND, label_, "dx"),
         exactFloat(program, dgamma, p_.width, label_, "dgamma"),
         exactFloat(program, dbeta, p_.width, label_, "dbeta")});
}

void LayerNormBackward::runCpu(const ArenaView& arena) const {
  const uint32_t D = p_.width;
  const float* x = arena.f(x_);          // [N, D]
  const float* gamma = arena.f(gamma_);  // [D]
  const float* mean = arena.f(mean_);    // [N]
  const float* rstd = arena.f(rstd_);    // [N]
  const float* dy = arena.f(dy_);        // [N, D]
  float* dx = arena.f(dx_);              // [N, D]
  float* dgamma = arena.f(dgamma_);      // [D]
  float* dbeta = arena.f(dbeta_);        // [D]
  std::vector<float> xhat(D), g(D), sumGamma(D, 0.f), sumBeta(D, 0.f);
  for (uint32_t n = 0; n < p_.rows; ++n) {
    const uint64_t row = uint64_t(n) * D;
    float a = 0.f, b = 0.f;
    for (uint32_t d = 0; d < D; ++d) {
      xhat[d] = (x[row + d] - mean[n]) * rstd[n];
      g[d] = dy[row + d] * gamma[d];
      a += g[d];
      b += g[d] * xhat[d];
      sumGamma[d] += dy[row + d] * xhat[d];
      sumBeta[d] += dy[row + d];
    }
    a /= float(D);
    b /= float(D);
    for (uint32_t d = 0; d < D; ++d) dx[row + d] = rstd[n] * (g[d] - a - xhat[d] * b);
  }
  for (uint32_t d = 0; d < D; ++d) {
    dgamma[d] += sumGamma[d];
    dbeta[d] += sumBeta[d];
  }
}

}  // namespace rl
