#include "ops/optimizer.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "ops/read_globals.h"
#include "ops/shape_check.h"

namespace rl {

namespace {

Grid strideGrid(uint32_t count, uint32_t cap) {
  return {std::clamp(ceilDiv(count, kOptimizerLocalSize), 1u, cap), 1, 1};
}


void requireGlobals(const Program& program, TensorId globals, const std::string& op) {
  requireWords(program, globals, sizeof(Globals) / 4, op, "globals");
}

using Vec = Eigen::Map<Eigen::ArrayXf>;

Vec rangeOf(const ArenaView& arena, const Binding& b, uint32_t count) {
  return Vec(reinterpret_cast<float*>(arena.word(b.offset)), count);
}

}  // namespace

// --- Adam ------------------------------------------------------------------------------------

Adam::Adam(const Program& program, Binding params, Binding grads, Binding m, Binding v, TensorId globals,
           AdamParams p)
    : p_(p), globals_(globals) {
  p_.logBeta1 = float(std::log(double(p.beta1)));
  p_.logBeta2 = float(std::log(double(p.beta2)));
  requireRange(params, p.count, "adam", "params");
  requireRange(grads, p.count, "adam", "grads");
  requireRange(m, p.count, "adam", "m");
  requireRange(v, p.count, "adam", "v");
  requireGlobals(program, globals, "adam");
  bindings_ = {params, grads, m, v, bind(program, globals)};
  auto copy = std::make_shared<Adam>(*this);
  copy->gridCap_ = kOptimizerCpuClassGroups;
  cpuClass_ = std::move(copy);
}

Grid Adam::grid() const { return strideGrid(p_.count, gridCap_); }

const Op& Adam::forDevice(DeviceClass c) const {
  return c == DeviceClass::CpuImplementation && cpuClass_ ? *cpuClass_ : *this;
}

void Adam::runCpu(const ArenaView& arena) const {
  const Globals g = readGlobals(arena, globals_);
  const double t = std::max(g.step, 1u);
  // Bias corrections folded into a step size and a scale on the raw sqrt(v), as PyTorch does:
  // lr * mhat / (sqrt(vhat) + eps) == (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
  const double bc1 = 1.0 - std::pow(double(p_.beta1), t), bc2 = 1.0 - std::pow(double(p_.beta2), t);
  const float stepSize = float(g.lr / bc1), invSqrtBc2 = float(1.0 / std::sqrt(bc2));
  Vec param = rangeOf(arena, bindings_[0], p_.count), grad = rangeOf(arena, bindings_[1], p_.count);
  Vec m = rangeOf(arena, bindings_[2], p_.count), v = rangeOf(arena, bindings_[3], p_.count);
  m = p_.beta1 * m + (1.f - p_.beta1) * grad;
  v = p_.beta2 * v + (1.f - p_.beta2) * grad.square();
  param -= stepSize * m / (v.sqrt() * invSqrtBc2 + p_.eps);
}

// --- SGD with momentum -----------------------------------------------------------------------

SgdMomentum::SgdMomentum(const Program& program, Binding params, Binding grads, Binding velocity,
                         TensorId globals, SgdParams p)
    : p_(p), globals_(globals) {
  requireRange(params, p.count, "sgd_momentum", "params");
  requireRange(grads, p.count, "sgd_momentum", "grads");
  requireRange(velocity, p.count, "sgd_momentum", "velocity");
  requireGlobals(program, globals, "sgd_momentum");
  bindings_ = {params, grads, velocity, bind(program, globals)};
  auto copy = std::make_shared<SgdMomentum>(*this);
  copy->gridCap_ = kOptimizerCpuClassGroups;
  cpuClass_ = std::move(copy);
}

Grid SgdMomentum::grid() const { return strideGrid(p_.count, gridCap_); }

const Op& SgdMomentum::forDevice(DeviceClass c) const {
  return c == DeviceClass::CpuImplementation && cpuClass_ ? *cpuClass_ : *this;
}

void SgdMomentum::runCpu(const ArenaView& arena) const {
  const Globals g = readGlobals(arena, globals_);
  Vec param = rangeOf(arena, bindings_[0], p_.count), grad = rangeOf(arena, bindings_[1], p_.count);
  Vec velocity = rangeOf(arena, bindings_[2], p_.count);
  velocity = p_.momentum * velocity + grad;
  param -= g.lr * velocity;
}

// --- gradient norm ---------------------------------------------------------------------------

GradNorm::GradNorm(const Program& program, Binding grads, TensorId out, GradNormParams p) : p_(p), out_(out) {
  requireRange(grads, p.count, "grad_norm", "grads");
  requireWords(program, out, 1, "grad_norm", "out");
  bindings_ = {grads, bind(program, out)};
}

void GradNorm::runCpu(const ArenaView& arena) const {
  // Float with Eigen's vectorised partial sums: for the ~1e4..1e6 gradients of our models the
  // rounding (~1e-6 relative) is far below what the metric is used for, and it costs ~1 us.
  arena.f(out_)[0] = rangeOf(arena, bindings_[0], p_.count).matrix().norm();
}

// --- gradient norm and Adam in one dispatch ---------------------------------------------------

AdamGradNorm::AdamGradNorm(const Program& program, Binding params, Binding grads, Binding m, Binding v,
                           TensorId globals, TensorId out, AdamParams p)
    : adam_(program, params, grads, m, v, globals, p), norm_(program, grads, out, GradNormParams{p.count}) {
  bindings_ = adam_.bindings();
  bindings_.push_back(bind(program, out));
  auto copy = std::make_shared<AdamGradNorm>(*this);
  copy->cpuClassGrid_ = true;
  cpuClass_ = std::move(copy);
}

// Workgroup 0 for the norm, then Adam's grid for the device class.
Grid AdamGradNorm::grid() const {
  const Grid g = adam_.forDevice(cpuClassGrid_ ? DeviceClass::CpuImplementation : DeviceClass::Gpu).grid();
  return {1 + g.x, 1, 1};
}

const Op& AdamGradNorm::forDevice(DeviceClass c) const {
  return c == DeviceClass::CpuImplementation && cpuClass_ ? *cpuClass_ : *this;
}

void AdamGradNorm::runCpu(const ArenaView& arena) const {
  norm_.runCpu(arena);  // the gradients as Adam reads them
  adam_.runCpu(arena);
}

}  // namespace rl
