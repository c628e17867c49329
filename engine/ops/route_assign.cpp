#include "ops/route_assign.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace rl {

RouteAssign::RouteAssign(const Program& program, TensorId idx, TensorId slot, TensorId slotAssign,
                         AssignParams params)
    : idx_(idx), slot_(slot), slotAssign_(slotAssign), p_(params) {
  if (p_.E == 0 || p_.k == 0 || p_.k > p_.E || p_.C == 0)
    throw std::invalid_argument("route_assign: need E >= 1, 1 <= k <= E and C >= 1 (E " + std::to_string(p_.E) +
                                ", k " + std::to_string(p_.k) + ", C " + std::to_string(p_.C) + ")");
  bindings_ = {bind(program, idx), bind(program, slot), bind(program, slotAssign)};
  name_ = "route_assign(" + program.info(slot).name + ")";
}

void RouteAssign::runCpu(const ArenaView& a) const {
  const uint32_t N = p_.N, E = p_.E, k = p_.k, C = p_.C;
  const int32_t* idx = a.i(idx_);
  int32_t* slot = a.i(slot_);
  int32_t* assign = a.i(slotAssign_);
  std::fill(assign, assign + size_t(E) * C, -1);
  // Occupants per expert so far, in a per-thread buffer that only grows (no allocation per step).
  thread_local std::vector<uint32_t> filled;
  filled.assign(E, 0u);
  // One pass over the choices in priority order (rank-major); the shader walks the same order
  // once per expert.
  for (uint32_t j = 0; j < k; ++j)
    for (uint32_t n = 0; n < N; ++n) {
      const int32_t e = idx[size_t(n) * k + j];
      int32_t& s = slot[size_t(n) * k + j];
      s = -1;
      if (e < 0 || uint32_t(e) >= E || filled[e] == C) continue;  // not an expert, or full
      const uint32_t c = filled[e]++;
      assign[size_t(e) * C + c] = int32_t(n * k + j);
      s = int32_t(size_t(e) * C + c);
    }
}

}  // namespace rl
