#include "ops/activation_backward.h"

#include <stdexcept>

#include "ops/activation.h"
#include "ops/shape_check.h"

namespace rl {

ActivationBackward::ActivationBackward(const Program& program, TensorId dy, TensorId z, TensorId dz,
                                       ActivationBackwardParams params)
    : StridedOp("activation_bwd(" + program.info(dz).name + ")"), dy_(dy), z_(z), dz_(dz), p_(params) {
  if (p_.count == 0) throw std::invalid_argument(label_ + ": count must be >= 1");
  if (p_.act > static_cast<uint32_t>(Activation::Sigmoid))
    throw std::invalid_argument(label_ + ": unknown activation code " + std::to_string(p_.act));
  const std::pair<TensorId, const char*> tensors[] = {{dy, "dy"}, {z, "z"}, {dz, "dz"}};
  for (const auto& [t, role] : tensors) {
    requireDType(program, t, DType::F32, label_, role);
    requireWords(program, t, p_.count, label_, role);
  }
  const auto range = [&](TensorId t) { return Binding{program.info(t).offset, p_.count}; };
  setup(p_, ceilDiv(p_.count, 4), {range(dy), range(z), range(dz)});
}

void ActivationBackward::runCpu(const ArenaView& arena) const {
  // dz[i] = dy[i] * act'(z[i])
  activationBackward(static_cast<Activation>(p_.act), arena.f(dy_), arena.f(z_), arena.f(dz_), p_.count);
}

}  // namespace rl
