#include "ops/token_route_task.h"

#include <stdexcept>

#include "ops/shape_check.h"

namespace rl {

TokenRouteTask::TokenRouteTask(const Program& program, TensorId group, TensorId idx, TensorId wt,
                               TaskRouteParams params)
    : StridedOp("token_route_task(" + program.info(idx).name + ")"), group_(group), idx_(idx), wt_(wt), p_(params) {
  if (p_.N == 0 || p_.E == 0 || p_.T == 0 || p_.N % p_.T != 0)
    throw std::invalid_argument(label_ + ": need N >= 1, E >= 1 and N a multiple of T (N " + std::to_string(p_.N) +
                                ", E " + std::to_string(p_.E) + ", T " + std::to_string(p_.T) + ")");
  requireDType(program, group, DType::I32, label_, "group");
  requireDType(program, idx, DType::I32, label_, "idx");
  requireDType(program, wt, DType::F32, label_, "wt");
  requireWords(program, group, p_.N / p_.T, label_, "group");
  requireWords(program, idx, p_.N, label_, "idx");
  requireWords(program, wt, p_.N, label_, "wt");
  setup(p_, p_.N, {bind(program, group), bind(program, idx), bind(program, wt)});
}

void TokenRouteTask::runCpu(const ArenaView& a) const {
  const int32_t* group = a.i(group_);  // [B]
  int32_t* idx = a.i(idx_);            // [N]
  float* wt = a.f(wt_);                // [N]
  for (uint32_t n = 0; n < p_.N; ++n) {
    const int32_t task = group[n / p_.T];
    idx[n] = task < 0 ? -1 : int32_t(uint32_t(task) % p_.E);
    wt[n] = task < 0 ? 0.0f : 1.0f;
  }
}

}  // namespace rl
