#include "ops/linear.h"

#include <Eigen/Core>
#include <algorithm>
#include <stdexcept>

#include "ops/activation.h"
#include "ops/shape_check.h"

namespace rl {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatMap = Eigen::Map<RowMat>;
using ConstMatMap = Eigen::Map<const RowMat>;
using ConstRowVecMap = Eigen::Map<const Eigen::RowVectorXf>;
using RowVecMap = Eigen::Map<Eigen::RowVectorXf>;

Activation activationOf(const LinearParams& p) { return static_cast<Activation>(p.act); }

void checkParams(const LinearParams& p, const std::string& op) {
  if (p.act > static_cast<uint32_t>(Activation::Sigmoid))
    throw std::invalid_argument(op + ": unknown activation code " + std::to_string(p.act));
  if (p.groups == 0) throw std::invalid_argument(op + ": groups must be >= 1");
}

// dZ = dY (.) act'(Z) for all groups, in a per-thread scratch buffer that only ever grows, so a
// training step allocates nothing after its first run. With no activation dZ is dY itself.
const float* activationGradient(const LinearParams& p, const float* dy, const float* z) {
  const Activation a = activationOf(p);
  if (a == Activation::None) return dy;
  thread_local std::vector<float> scratch;
  const size_t n = size_t(p.groups) * p.rows * p.out;
  if (scratch.size() < n) scratch.resize(n);
  activationBackward(a, dy, z, scratch.data(), n);
  return scratch.data();
}

}  // namespace

bool LinearOpBase::vectorized() const {
  return p_.rows > 0 && p_.in > 0 && p_.out > 0 && p_.in % 4 == 0 && p_.out % 4 == 0;
}

Grid LinearOpBase::tileGrid(uint32_t a, uint32_t tileA, uint32_t b, uint32_t tileB) const {
  const uint64_t tiles = uint64_t(ceilDiv(a, tileA)) * ceilDiv(b, tileB);
  return {std::max(1u, ceilDiv(tiles, localSize())), p_.groups, 1};
}

// --- forward ---------------------------------------------------------------------------------

LinearForward::LinearForward(const Program& program, TensorId x, TensorId w, TensorId b, TensorId z, TensorId y,
                             LinearParams p)
    : LinearOpBase("linear_fwd(" + program.info(y).name + ")", p), x_(x), w_(w), b_(b), z_(z), y_(y) {
  checkParams(p, label_);
  if (z == y && activationOf(p) != Activation::None)
    throw std::invalid_argument(label_ + ": z and y may be one tensor only without an activation");
  const uint64_t G = p.groups;
  requireWords(program, x, G * p.rows * p.in, label_, "x");
  requireWords(program, w, G * p.out * p.in, label_, "w");
  if (p.hasBias) requireWords(program, b, G * p.out, label_, "b");
  requireWords(program, z, G * p.rows * p.out, label_, "z");
  requireWords(program, y, G * p.rows * p.out, label_, "y");
  bindings_ = {bind(program, x), bind(program, w), bind(program, b), bind(program, z), bind(program, y)};
}

// vec4 variant: x and w as texel buffers.
std::vector<bool> LinearForward::texelBindings() const {
  return vectorized() ? std::vector<bool>{true, true} : std::vector<bool>{};
}

Grid LinearForward::grid() const {
  return vectorized() ? tileGrid(p_.rows, kLinearVecRows, p_.out, 4) : tileGrid(p_.rows, kLinearTile, p_.out, kLinearTile);
}

void LinearForward::runCpu(const ArenaView& arena) const {
  const Eigen::Index M = p_.rows, I = p_.in, O = p_.out;
  const float* x = arena.f(x_);
  const float* w = arena.f(w_);
  const float* b = arena.f(b_);
  float* z = arena.f(z_);
  for (uint32_t g = 0; g < p_.groups; ++g) {
    MatMap Z(z + g * M * O, M, O);
    Z.noalias() = ConstMatMap(x + g * M * I, M, I) * ConstMatMap(w + g * O * I, O, I).transpose();
    if (p_.hasBias) Z.rowwise() += ConstRowVecMap(b + g * O, O);
  }
  applyActivation(activationOf(p_), z, arena.f(y_), size_t(p_.groups) * M * O);
}

// --- backward: input gradient ----------------------------------------------------------------

LinearBackwardInput::LinearBackwardInput(const Program& program, TensorId dy, TensorId z, TensorId w, TensorId dx,
                                         LinearParams p)
    : LinearOpBase("linear_bwd_input(" + program.info(dx).name + ")", p), dy_(dy), z_(z), w_(w), dx_(dx) {
  checkParams(p, label_);
  const uint64_t G = p.groups;
  requireWords(program, dy, G * p.rows * p.out, label_, "dy");
  requireWords(program, z, G * p.rows * p.out, label_, "z");
  requireWords(program, w, G * p.out * p.in, label_, "w");
  requireWords(program, dx, G * p.rows * p.in, label_, "dx");
  bindings_ = {bind(program, dy), bind(program, z), bind(program, w), bind(program, dx)};
}

// vec4 variant: dy, z and w as texel buffers.
std::vector<bool> LinearBackwardInput::texelBindings() const {
  return vectorized() ? std::vector<bool>{true, true, true} : std::vector<bool>{};
}

Grid LinearBackwardInput::grid() const {
  return vectorized() ? tileGrid(p_.rows, kLinearVecRows, p_.in, 4) : tileGrid(p_.rows, kLinearTile, p_.in, kLinearTile);
}

void LinearBackwardInput::runCpu(const ArenaView& arena) const {
  const Eigen::Index M = p_.rows, I = p_.in, O = p_.out;
  const float* dz = activationGradient(p_, arena.f(dy_), arena.f(z_));
  const float* w = arena.f(w_);
  float* dx = arena.f(dx_);
  for (uint32_t g = 0; g < p_.groups; ++g) {
    MatMap dX(dx + g * M * I, M, I);
    auto product = ConstMatMap(dz + g * M * O, M, O) * ConstMatMap(w + g * O * I, O, I);
    if (p_.accumulate)
      dX.noalias() += product;
    else
      dX.noalias() = product;
  }
}

// --- backward: parameter gradients -----------------------------------------------------------

LinearBackwardParams::LinearBackwardParams(const Program& program, TensorId dy, TensorId z, TensorId x,
                                           TensorId dw, TensorId db, LinearParams p)
    : LinearOpBase("linear_bwd_params(" + program.info(dw).name + ")", p), dy_(dy), z_(z), x_(x), dw_(dw),
      db_(db) {
  checkParams(p, label_);
  const uint64_t G = p.groups;
  requireWords(program, dy, G * p.rows * p.out, label_, "dy");
  requireWords(program, z, G * p.rows * p.out, label_, "z");
  requireWords(program, x, G * p.rows * p.in, label_, "x");
  requireWords(program, dw, G * p.out * p.in, label_, "dw");
  if (p.hasBias) requireWords(program, db, G * p.out, label_, "db");
  bindings_ = {bind(program, dy), bind(program, z), bind(program, x), bind(program, dw), bind(program, db)};
}

// vec4 variant: dy, z and x as texel buffers.
std::vector<bool> LinearBackwardParams::texelBindings() const {
  return vectorized() ? std::vector<bool>{true, true, true} : std::vector<bool>{};
}

Grid LinearBackwardParams::grid() const { return tileGrid(p_.out, kLinearTile, p_.in, kLinearTile); }

void LinearBackwardParams::runCpu(const ArenaView& arena) const {
  const Eigen::Index M = p_.rows, I = p_.in, O = p_.out;
  const float* dz = activationGradient(p_, arena.f(dy_), arena.f(z_));
  const float* x = arena.f(x_);
  float* dw = arena.f(dw_);
  float* db = arena.f(db_);
  for (uint32_t g = 0; g < p_.groups; ++g) {
    ConstMatMap dZ(dz + g * M * O, M, O);
    MatMap(dw + g * O * I, O, I).noalias() += dZ.transpose() * ConstMatMap(x + g * M * I, M, I);
    if (p_.hasBias) RowVecMap(db + g * O, O) += dZ.colwise().sum();
  }
}

}  // namespace rl
