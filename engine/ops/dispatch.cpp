#include "ops/dispatch.h"

#include <algorithm>
#include <stdexcept>

namespace rl {

namespace {
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
  auto capped = std::make_shared<DispatchForward>(*this);
  capped->gridCap_ = kDispatchCpuClassWorkgroups;
  cpuClass_ = std::move(capped);
}

void DispatchForward::runCpu(const ArenaView& a) const {
  const uint32_t D = p_.D;
  const float* x = a.f(x_);
  float* xe = a.f(xe_);
  const int32_t* assign = a.i(slotAssign_);
  for (uint32_t s = 0; s < p_.S; ++s) {
    float* out = xe + size_t(s) * D;
    if (assign[s] < 0)
      std::fill(out, out + D, 0.0f);
    else
      std::copy_n(x + size_t(uint32_t(assign[s]) / p_.k) * D, D, out);
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
  const uint32_t D = p_.D, k = p_.k;
  const float* dxe = a.f(dxe_);
  float* dx = a.f(dx_);
  const int32_t* slot = a.i(slot_);
  for (uint32_t n = 0; n < p_.N; ++n) {
    float* out = dx + size_t(n) * D;
    if (!p_.accumulate) std::fill(out, out + D, 0.0f);
    for (uint32_t j = 0; j < k; ++j) {
      const int32_t s = slot[size_t(n) * k + j];
      if (s < 0) continue;
      const float* g = dxe + size_t(s) * D;
      for (uint32_t d = 0; d < D; ++d) out[d] += g[d];
    }
  }
}

}  // namespace rl
