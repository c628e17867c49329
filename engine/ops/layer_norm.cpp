#include "ops/layer_norm.h"

#include <Eigen/Core>
#include <cmath>
#include <stdexcept>

#include "ops/shape_check.h"

namespace rl {

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Mat = Eigen::Map<RowMajor>;
using ConstMat = Eigen::Map<const RowMajor>;
using Row = Eigen::Map<Eigen::RowVectorXf>;
using ConstRow = Eigen::Map<const Eigen::RowVectorXf>;

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
  const Eigen::Index N = p_.rows, D = p_.width;
  ConstMat X(arena.f(x_), N, D);        // [N, D]
  ConstRow gamma(arena.f(gamma_), D);   // [D]
  ConstRow beta(arena.f(beta_), D);     // [D]
  Mat Y(arena.f(y_), N, D);             // [N, D]
  float* mean = arena.f(mean_);         // [N]
  float* rstd = arena.f(rstd_);         // [N]
  for (Eigen::Index n = 0; n < N; ++n) {
    const auto xn = X.row(n).array();
    const float mu = xn.sum() / float(D);
    const float r = 1.f / std::sqrt((xn - mu).square().sum() / float(D) + p_.eps);
    Y.row(n).array() = (xn - mu) * r * gamma.array() + beta.array();
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
  const Eigen::Index N = p_.rows, D = p_.width;
  ConstMat X(arena.f(x_), N, D);       // [N, D]
  ConstRow gamma(arena.f(gamma_), D);  // [D]
  const float* mean = arena.f(mean_);  // [N]
  const float* rstd = arena.f(rstd_);  // [N]
  ConstMat dY(arena.f(dy_), N, D);     // [N, D]
  Mat dX(arena.f(dx_), N, D);          // [N, D]
  Row dgamma(arena.f(dgamma_), D);     // [D]
  Row dbeta(arena.f(dbeta_), D);       // [D]
  // Column sums over n ascending first, then one add into the accumulating gradients.
  Eigen::Array<float, 1, Eigen::Dynamic> xhat(D), g(D), sumGamma = Eigen::Array<float, 1, Eigen::Dynamic>::Zero(D),
                                                     sumBeta = Eigen::Array<float, 1, Eigen::Dynamic>::Zero(D);
  for (Eigen::Index n = 0; n < N; ++n) {
    const auto dyn = dY.row(n).array();
    xhat = (X.row(n).array() - mean[n]) * rstd[n];
    g = dyn * gamma.array();
    const float a = g.sum() / float(D), b = (g * xhat).sum() / float(D);
    if (p_.accumulate)
      dX.row(n).array() += rstd[n] * (g - a - xhat * b);
    else
      dX.row(n).array() = rstd[n] * (g - a - xhat * b);
    sumGamma += dyn * xhat;
    sumBeta += dyn;
  }
  dgamma.array() += sumGamma;
  dbeta.array() += sumBeta;
}

}  // namespace rl
