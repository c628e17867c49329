#include "ops/token_route_hash.h"

#include <stdexcept>

#include "ops/shape_check.h"

namespace rl {

TokenRouteHash::TokenRouteHash(const Program& program, TensorId ids, TensorId idx, TensorId wt,
                               HashRouteParams params)
    : StridedOp("token_route_hash(" + program.info(idx).name + ")"), ids_(ids), idx_(idx), wt_(wt), p_(params) {
  if (p_.N == 0 || p_.E == 0)
    throw std::invalid_argument(label_ + ": need N >= 1 and E >= 1 (N " + std::to_string(p_.N) + ", E " +
                                std::to_string(p_.E) + ")");
  requireDType(program, ids, DType::I32, label_, "ids");
  requireDType(program, idx, DType::I32, label_, "idx");
  requireDType(program, wt, DType::F32, label_, "wt");
  requireWords(program, ids, p_.N, label_, "ids");
  requireWords(program, idx, p_.N, label_, "idx");
  requireWords(program, wt, p_.N, label_, "wt");
  setup(p_, p_.N, {bind(program, ids), bind(program, idx), bind(program, wt)});
}

void TokenRouteHash::runCpu(const ArenaView& a) const {
  const int32_t* ids = a.i(ids_);  // [N]
  int32_t* idx = a.i(idx_);        // [N]
  float* wt = a.f(wt_);            // [N]
  for (uint32_t n = 0; n < p_.N; ++n) {
    idx[n] = expertOfToken(ids[n], p_.E, p_.salt);
    wt[n] = idx[n] < 0 ? 0.0f : 1.0f;
  }
}

}  // namespace rl
