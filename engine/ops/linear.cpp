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

// dZ = dY (.) act'(Z) for `count` elements, in a per-thread scratch buffer that only ever grows, so a
// training step allocates nothing after its first run. With no activation dZ is dY itself.
const float* activationGradient(const LinearParams& p, const float* dy, const float* z, size_t count) {
  const Activation a = activationOf(p);
  if (a == Activation::None) return dy;
  thread_local std::vector<float> scratch;
  if (scratch.size() < count) scratch.resize(count);
  activationBackward(a, dy, z, scratch.data(), count);
  return scratch.data();
}

}  // namespace

uint32_t maskedRows(const int32_t* mask, uint32_t g, uint32_t rows) {
  const int32_t* m = mask + size_t(g) * rows;
  uint32_t lo = 0, hi = rows;
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2;
    if (m[mid] >= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

Binding LinearOpBase::maskBinding(const Program& program, TensorId mask, TensorId fallback) const {
  if (p_.maskRows > 1) throw std::invalid_argument(label_ + ": maskRows must be 0 or 1");
  if (!p_.maskRows) return bind(program, fallback);
  if (mask == kNoRowMask) throw std::invalid_argument(label_ + ": maskRows = 1 needs a row-mask tensor");
  requireDType(program, mask, DType::I32, label_, "row mask");
  requireWords(program, mask, uint64_t(p_.groups) * p_.rows, label_, "row mask");
  return bind(program, mask);
}

uint32_t LinearOpBase::rowsOf(const ArenaView& arena, uint32_t g) const {
  return p_.maskRows ? maskedRows(arena.i(mask_), g, p_.rows) : p_.rows;
}

void LinearOpBase::setGather(const Program& program, RowGather gather, TensorId x) {
  gather_ = gather;
  if (gather.k == 0) return;
  if (p_.maskRows != 1) throw std::invalid_argument(label_ + ": a row gather needs the row mask (maskRows = 1)");
  if (gather.tokens == 0) throw std::invalid_argument(label_ + ": a row gather needs at least one token row");
  requireWords(program, x, uint64_t(gather.tokens) * p_.in, label_, "x (gathered token rows)");
}

const float* LinearOpBase::inputRows(const ArenaView& arena, TensorId x, uint32_t g, uint32_t rows) const {
  const size_t I = p_.in;
  const float* base = arena.f(x);
  if (gather_.k == 0) return base + size_t(g) * p_.rows * I;
  thread_local std::vector<float> gathered;
  if (gathered.size() < size_t(rows) * I) gathered.resize(size_t(rows) * I);
  const int32_t* mask = arena.i(mask_) + size_t(g) * p_.rows;
  for (uint32_t m = 0; m < rows; ++m) {
    const uint32_t token = uint32_t(mask[m]) / gather_.k;  // occupied rows only: mask[m] >= 0
    if (token >= gather_.tokens)
      throw std::runtime_error(label_ + ": slot " + std::to_string(size_t(g) * p_.rows + m) + " holds token " +
                               std::to_string(token) + ", past the " + std::to_string(gather_.tokens) + " token rows");
    std::copy_n(base + size_t(token) * I, I, gathered.begin() + size_t(m) * I);
  }
  return gathered.data();
}

const Op& LinearOpBase::forDevice(DeviceClass c) const {
  return c == DeviceClass::CpuImplementation && cpuClass_ ? *cpuClass_ : *this;
}

template <class OpT>
void LinearOpBase::makeCpuClassVariant(const OpT& self) {
  auto v = std::make_shared<OpT>(self);
  v->gridCap_ = std::max(1u, kCpuClassWorkgroups / std::max(1u, p_.groups));
  cpuClass_ = std::move(v);
}

bool LinearOpBase::vectorized() const {
  return p_.rows > 0 && p_.in > 0 && p_.out > 0 && p_.in % 4 == 0 && p_.out % 4 == 0;
}

bool LinearOpBase::outputsVectorized() const {
  return !vectorized() && p_.rows > 0 && p_.in > 0 && p_.out > 0 && p_.out % 4 == 0;
}

Grid LinearOpBase::tileGrid(uint32_t a, uint32_t tileA, uint32_t b, uint32_t tileB) const {
  const uint64_t tiles = uint64_t(ceilDiv(a, tileA)) * ceilDiv(b, tileB);
  return {std::max(1u, std::min(gridCap_, ceilDiv(tiles, localSize()))), p_.groups, 1};
}

// --- forward ---------------------------------------------------------------------------------

LinearForward::LinearForward(const Program& program, TensorId x, TensorId w, TensorId b, TensorId z, TensorId y,
                             LinearParams p, TensorId rowMask, RowGather gather)
    : LinearOpBase("linear_fwd(" + program.info(y).name + ")", p), x_(x), w_(w), b_(b), z_(z), y_(y) {
  checkParams(p, label_);
  if (z == y && !zMayAliasY(activationOf(p)))
    throw std::invalid_argument(label_ + ": z and y may be one tensor only with no activation or ReLU");
  const uint64_t G = p.groups;
  setGather(program, gather, x);
  if (gather.k == 0) requireWords(program, x, G * p.rows * p.in, label_, "x");
  requireWords(program, w, G * p.out * p.in, label_, "w");
  if (p.hasBias) requireWords(program, b, G * p.out, label_, "b");
  requireWords(program, z, G * p.rows * p.out, label_, "z");
  requireWords(program, y, G * p.rows * p.out, label_, "y");
  bindings_ = {bind(program, x), bind(program, w), bind(program, b), bind(program, z), bind(program, y),
               maskBinding(program, rowMask, x)};
  mask_ = rowMask;
  makeCpuClassVariant(*this);
}

std::vector<uint32_t> LinearForward::specConstants() const {
  const uint32_t separateZ = z_ != y_ ? 1u : 0u;
  return gather_.k ? std::vector<uint32_t>{p_.act, separateZ, 0u, gather_.k} : std::vector<uint32_t>{p_.act, separateZ};
}

// vec4 variant: x and w as texel buffers.
std::vector<bool> LinearForward::texelBindings() const {
  return vectorized() ? std::vector<bool>{true, true} : std::vector<bool>{};
}

Grid LinearForward::grid() const {
  return vectorized() || outputsVectorized() ? tileGrid(p_.rows, kLinearVecRows, p_.out, 4)
                                             : tileGrid(p_.rows, kLinearTile, p_.out, kLinearTile);
}

void LinearForward::runCpu(const ArenaView& arena) const {
  const Eigen::Index M = p_.rows, I = p_.in, O = p_.out;
  const float* w = arena.f(w_);
  const float* b = arena.f(b_);
  float* z = arena.f(z_);
  float* y = arena.f(y_);
  for (uint32_t g = 0; g < p_.groups; ++g) {
    const Eigen::Index rows = rowsOf(arena, g);
    if (rows == 0) continue;
    MatMap Z(z + g * M * O, rows, O);
    Z.noalias() = ConstMatMap(inputRows(arena, x_, g, uint32_t(rows)), rows, I) *
                  ConstMatMap(w + g * O * I, O, I).transpose();
    if (p_.hasBias) Z.rowwise() += ConstRowVecMap(b + g * O, O);
    applyActivation(activationOf(p_), z + g * M * O, y + g * M * O, size_t(rows) * O);
  }
}

// --- backward: input gradient ----------------------------------------------------------------

LinearBackwardInput::LinearBackwardInput(const Program& program, TensorId dy, TensorId z, TensorId w, TensorId dx,
                                         LinearParams p, TensorId rowMask)
    : LinearOpBase("linear_bwd_input(" + program.info(dx).name + ")", p), dy_(dy), z_(z), w_(w), dx_(dx) {
  checkParams(p, label_);
  const uint64_t G = p.groups;
  requireWords(program, dy, G * p.rows * p.out, label_, "dy");
  requireWords(program, z, G * p.rows * p.out, label_, "z");
  requireWords(program, w, G * p.out * p.in, label_, "w");
  requireWords(program, dx, G * p.rows * p.in, label_, "dx");
  bindings_ = {bind(program, dy), bind(program, z), bind(program, w), bind(program, dx),
               maskBinding(program, rowMask, dy)};
  mask_ = rowMask;
  makeCpuClassVariant(*this);
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
  const float* dy = arena.f(dy_);
  const float* z = arena.f(z_);
  const float* w = arena.f(w_);
  float* dx = arena.f(dx_);
  for (uint32_t g = 0; g < p_.groups; ++g) {
    const Eigen::Index rows = rowsOf(arena, g);
    if (rows == 0) continue;
    const float* dz = activationGradient(p_, dy + g * M * O, z + g * M * O, size_t(rows) * O);
    MatMap dX(dx + g * M * I, rows, I);
    auto product = ConstMatMap(dz, rows, O) * ConstMatMap(w + g * O * I, O, I);
    if (p_.accumulate)
      dX.noalias() += product;
    else
      dX.noalias() = product;
  }
}

// --- backward: parameter gradients -----------------------------------------------------------

LinearBackwardParams::LinearBackwardParams(const Program& program, TensorId dy, TensorId z, TensorId x,
                                           TensorId dw, TensorId db, LinearParams p, TensorId rowMask,
                                           GradWrite mode, RowGather gather)
    : LinearOpBase("linear_bwd_params(" + program.info(dw).name + ")", p), dy_(dy), z_(z), x_(x), dw_(dw),
      db_(db), mode_(mode) {
  checkParams(p, label_);
  if (mode != GradWrite::Accumulate && mode != GradWrite::Overwrite)
    throw std::invalid_argument(label_ + ": unknown GradWrite mode " + std::to_string(static_cast<uint32_t>(mode)));
  const uint64_t G = p.groups;
  requireWords(program, dy, G * p.rows * p.out, label_, "dy");
  requireWords(program, z, G * p.rows * p.out, label_, "z");
  setGather(program, gather, x);
  if (gather.k == 0) requireWords(program, x, G * p.rows * p.in, label_, "x");
  requireWords(program, dw, G * p.out * p.in, label_, "dw");
  if (p.hasBias) requireWords(program, db, G * p.out, label_, "db");
  bindings_ = {bind(program, dy), bind(program, z), bind(program, x), bind(program, dw), bind(program, db),
               maskBinding(program, rowMask, dy)};
  mask_ = rowMask;
}

std::vector<uint32_t> LinearBackwardParams::specConstants() const {
  const uint32_t mode = static_cast<uint32_t>(mode_);
  return gather_.k ? std::vector<uint32_t>{p_.act, mode, 0u, gather_.k} : std::vector<uint32_t>{p_.act, mode};
}

// vec4 variant: dy, z and x as texel buffers; out4 variant: dy and z.
std::vector<bool> LinearBackwardParams::texelBindings() const {
  if (vectorized()) return {true, true, true};
  return outputsVectorized() ? std::vector<bool>{true, true} : std::vector<bool>{};
}

Grid LinearBackwardParams::grid() const {
  if (outputsVectorized()) return tileGrid(p_.out, kLinearParamsVecTile, p_.in, kLinearTile);  // 8 outputs x 4 inputs
  const uint32_t t = vectorized() ? kLinearParamsVecTile : kLinearTile;
  return tileGrid(p_.out, t, p_.in, t);
}

void LinearBackwardParams::runCpu(const ArenaView& arena) const {
  const Eigen::Index M = p_.rows, I = p_.in, O = p_.out;
  const float* dy = arena.f(dy_);
  const float* z = arena.f(z_);
  float* dw = arena.f(dw_);
  float* db = arena.f(db_);
  const bool overwrite = mode_ == GradWrite::Overwrite;
  for (uint32_t g = 0; g < p_.groups; ++g) {
    MatMap dW(dw + g * O * I, O, I);
    RowVecMap dB(db + g * O, O);
    const Eigen::Index rows = rowsOf(arena, g);
    if (rows == 0) {  // no rows: the sums are zero
      if (overwrite) {
        dW.setZero();
        if (p_.hasBias) dB.setZero();
      }
      continue;
    }
    ConstMatMap dZ(activationGradient(p_, dy + g * M * O, z + g * M * O, size_t(rows) * O), rows, O);
    auto dWsum = dZ.transpose() * ConstMatMap(inputRows(arena, x_, g, uint32_t(rows)), rows, I);
    if (overwrite)
      dW.noalias() = dWsum;
    else
      dW.noalias() += dWsum;
    if (!p_.hasBias) continue;
    if (overwrite)
      dB = dZ.colwise().sum();
    else
      dB += dZ.colwise().sum();
  }
}

// --- backward: both in one dispatch ----------------------------------------------------------

bool LinearBackward::fits(const LinearParams& p) {
  return p.rows > 0 && p.in > 0 && p.out > 0 && p.in % 4 == 0 && p.out % 4 == 0;
}

LinearBackward::LinearBackward(const Program& program, TensorId dy, TensorId z, TensorId x, TensorId w, TensorId dx,
                               TensorId dw, TensorId db, LinearParams p, TensorId rowMask, GradWrite mode,
                               RowGather gather, InputGradActivation dxAct)
    : LinearOpBase("linear_bwd(" + program.info(dw).name + ", " + program.info(dx).name + ")", p),
      params_(program, dy, z, x, dw, db, p, rowMask, mode, gather),
      input_(program, dy, z, w, dx, p, rowMask),
      dx_(dx),
      dxAct_(dxAct) {
  if (!fits(p))
    throw std::invalid_argument(label_ + ": the fused backward needs I and O multiples of 4 and no empty size (I " +
                                std::to_string(p.in) + ", O " + std::to_string(p.out) + ", M " +
                                std::to_string(p.rows) + "); use the two backward ops");
  const bool epilogue = dxAct.act != Activation::None;
  if (static_cast<uint32_t>(dxAct.act) > static_cast<uint32_t>(Activation::Sigmoid))
    throw std::invalid_argument(label_ + ": unknown dX epilogue activation code " +
                                std::to_string(static_cast<uint32_t>(dxAct.act)));
  if (epilogue) {
    if (p.accumulate)
      throw std::invalid_argument(label_ + ": the dX epilogue activation needs accumulate = 0 (dX is written)");
    if (dxAct.z == kNoRowMask) throw std::invalid_argument(label_ + ": the dX epilogue activation needs Zx");
    requireWords(program, dxAct.z, uint64_t(p.groups) * p.rows * p.in, label_, "zx (dX epilogue)");
  }
  setGather(program, gather, x);
  bindings_ = {bind(program, dy), bind(program, z),  bind(program, x),  bind(program, w),
               bind(program, dw), bind(program, db), bind(program, dx), maskBinding(program, rowMask, dy)};
  if (epilogue) bindings_.push_back(bind(program, dxAct.z));
  mask_ = rowMask;
  makeCpuClassVariant(*this);
}

// The CPU-class variant (capped grid) runs both parts in the input part's workgroups: 0 params groups.
std::vector<uint32_t> LinearBackward::specConstants() const {
  const uint32_t paramsGroups = gridCap_ == ~0u ? params_.grid().x : 0u;
  std::vector<uint32_t> c{p_.act, static_cast<uint32_t>(params_.mode()), paramsGroups, gather_.k};
  if (epilogue()) c.push_back(static_cast<uint32_t>(dxAct_.act));
  return c;
}

// dY, Z, X, W as texel buffers; with the epilogue also Zx (binding 8).
std::vector<bool> LinearBackward::texelBindings() const {
  if (epilogue()) return {true, true, true, true, false, false, false, false, true};
  return {true, true, true, true};
}

// GPU class: the params part as LinearBackwardParams dispatches it, then the input part. CPU class:
// the input part's capped grid, every invocation taking params tiles first.
Grid LinearBackward::grid() const {
  const uint32_t input = tileGrid(p_.rows, kLinearVecRows, p_.in, 4).x;
  return {(gridCap_ == ~0u ? params_.grid().x : 0u) + input, p_.groups, 1};
}

void LinearBackward::runCpu(const ArenaView& arena) const {
  params_.runCpu(arena);
  input_.runCpu(arena);
  if (dxAct_.act == Activation::None) return;
  // dZx = dX (.) act'(Zx) on the rows the input part wrote (the group's active rows).
  const size_t groupWords = size_t(p_.rows) * p_.in;
  float* dx = arena.f(dx_);
  const float* zx = arena.f(dxAct_.z);
  for (uint32_t g = 0; g < p_.groups; ++g) {
    const size_t at = g * groupWords;
    activationBackward(dxAct_.act, dx + at, zx + at, dx + at, size_t(rowsOf(arena, g)) * p_.in);
  }
}

}  // namespace rl
