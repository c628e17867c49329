#include "ops/route_fused.h"

#include <stdexcept>

#include "ops/shape_check.h"

namespace rl {

namespace {

void check(const RouteFusedParams& p) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("route_fused: " + why + " (N " + std::to_string(p.N) + ", E " +
                                std::to_string(p.E) + ", k " + std::to_string(p.k) + ", I " +
                                std::to_string(p.inputs) + ")");
  };
  if (p.N == 0) fail("need N >= 1");
  if (p.E > RouteFused::kMaxExperts) fail("at most " + std::to_string(RouteFused::kMaxExperts) + " experts");
  if (uint64_t(p.E) * p.k > RouteFused::kMaxCells)
    fail("k * E at most " + std::to_string(RouteFused::kMaxCells));
  if (p.inputs > RouteFused::kMaxInputs) fail("at most " + std::to_string(RouteFused::kMaxInputs) + " inputs");
}

}  // namespace

bool RouteFused::fits(uint32_t N, uint32_t E, uint32_t k, uint32_t inputs) {
  return N >= 1 && N <= kMaxRows && E >= 1 && E <= kMaxExperts && k >= 1 && k <= E && k * E <= kMaxCells &&
         inputs <= kMaxInputs &&
         // The single workgroup does every row's logits: keep that arithmetic small.
         uint64_t(N) * E * inputs <= (uint64_t(1) << 16);
}

RouteFused::RouteFused(const Program& program, TensorId x, TensorId w, TensorId logits, TensorId noiseLogits,
                       TensorId globals, TensorId probs, TensorId h, TensorId idx, TensorId wt, TensorId slot,
                       TensorId slotAssign, TensorId load, TensorId importance, TensorId scalars,
                       RouteFusedParams params)
    : p_((check(params), params)),
      gate_(program, logits, noiseLogits, globals, probs, h, idx, wt,
            GateParams{p_.N, p_.E, p_.k, p_.type, p_.temperature, p_.noiseStream}),
      assign_(program, idx, slot, slotAssign, AssignParams{p_.N, p_.E, p_.k, p_.C}),
      stats_(program, probs, h, idx, slot, load, importance, scalars,
             StatsParams{p_.N, p_.E, p_.k, p_.auxCoef, p_.zCoef}) {
  if (p_.inputs > 0)
    linear_.emplace(program, x, w, w, logits, logits, LinearParams{1, p_.N, p_.inputs, p_.E, 0, 0, 0, 0});
  name_ = "route_fused(" + program.info(probs).name + ")";
  const uint64_t NE = uint64_t(p_.N) * p_.E, Nk = uint64_t(p_.N) * p_.k;
  for (TensorId t : {logits, noiseLogits, probs, h}) requireWords(program, t, NE, name_, "an [N, E] tensor");
  for (TensorId t : {idx, wt, slot}) requireWords(program, t, Nk, name_, "an [N, k] tensor");
  requireWords(program, slotAssign, uint64_t(p_.E) * p_.C, name_, "slotAssign");
  requireWords(program, load, p_.E, name_, "load");
  requireWords(program, importance, p_.E, name_, "importance");
  requireWords(program, scalars, 4, name_, "scalars");
  bindings_ = {bind(program, p_.inputs ? x : logits), bind(program, p_.inputs ? w : logits),
               bind(program, logits), bind(program, noiseLogits), bind(program, globals), bind(program, probs),
               bind(program, h), bind(program, idx), bind(program, wt), bind(program, slot),
               bind(program, slotAssign), bind(program, load), bind(program, importance), bind(program, scalars)};
}

void RouteFused::runCpu(const ArenaView& arena) const {
  if (linear_) linear_->runCpu(arena);
  gate_.runCpu(arena);
  assign_.runCpu(arena);
  stats_.runCpu(arena);
}

}  // namespace rl
