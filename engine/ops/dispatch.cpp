#include "ops/dispatch.h"

#include <Eigen/Core>
#include <stdexcept>

namespace rl {

namespace {
using Rows = Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

void validate(const DispatchParams& p, const char* op) {
  if (p.k == 0 || p.D == 0)
    throw std::invalid_argument(std::string(op) + ": need k >= 1 and D >= 1 (k " + std::to_string(p.k) + ", D " +
                                std::to_string(p.D) + ")");
}
}  // namespace

DispatchForward::DispatchForward(const Program& program, TensorId x, TensorId slotAssign, TensorId xe,
                                 DispatchParams params)
    : x_(x), slotAssign_(slotAssign), xe_(xe), p_(params) {
  validate(p_, "dispatch_forward");
  bindings_ = {bind(program, x), bind(program, slotAssign), bind(program, xe)};
  name_ = "dispatch_forward(" + program.info(xe).name + ")";
}

void DispatchForward::runCpu(const ArenaView& a) const {
  Rows x(a.f(x_), p_.N, p_.D), xe(a.f(xe_), p_.S, p_.D);
  const int32_t* assign = a.i(slotAssign_);
  for (uint32_t s = 0; s < p_.S; ++s) {
    if (assign[s] < 0)
      xe.row(s).setZero();
    else
      xe.row(s) = x.row(uint32_t(assign[s]) / p_.k);
  }
}

DispatchBackward::DispatchBackward(const Program& program, TensorId dxe, TensorId slot, TensorId dx,
                                   DispatchParams params)
    : dxe_(dxe), slot_(slot), dx_(dx), p_(params) {
  validate(p_, "dispatch_backward");
  bindings_ = {bind(program, dxe), bind(program, slot), bind(program, dx)};
  name_ = "dispatch_backward(" + program.info(dx).name + ")";
}

void DispatchBackward::runCpu(const ArenaView& a) const {
  Rows dxe(a.f(dxe_), p_.S, p_.D), dx(a.f(dx_), p_.N, p_.D);
  const int32_t* slot = a.i(slot_);
  for (uint32_t n = 0; n < p_.N; ++n) {
    if (!p_.accumulate) dx.row(n).setZero();
    // Sum over the choices first, then add: the shader's order.
    const int32_t* s = slot + size_t(n) * p_.k;
    if (p_.k == 1) {
      if (s[0] >= 0) dx.row(n) += dxe.row(s[0]);
      continue;
    }
    for (uint32_t d = 0; d < p_.D; ++d) {
      float sum = 0.0f;
      for (uint32_t j = 0; j < p_.k; ++j)
        if (s[j] >= 0) sum += dxe(s[j], d);
      dx(n, d) += sum;
    }
  }
}

}  // namespace rl
