#include "ops/combine.h"

#include <algorithm>
#include <stdexcept>

namespace rl {

namespace {
void validate(const CombineParams& p, const char* op) {
  if (p.k == 0 || p.D == 0)
    throw std::invalid_argument(std::string(op) + ": need k >= 1 and D >= 1 (k " + std::to_string(p.k) + ", D " +
                                std::to_string(p.D) + ")");
}

// act'(z) from the output y = act(z), for the activations CombineBackward folds in.
float gradFromOutput(Activation a, float y) {
  switch (a) {
    case Activation::Relu: return y > 0.f ? 1.f : 0.f;
    case Activation::Tanh: return 1.f - y * y;
    case Activation::Sigmoid: return y * (1.f - y);
    default: return 1.f;
  }
}

// doe[s,:] = wt[a] * dy[a / k,:] (* act'(oe[s,:])) for occupied slots (a = slotAssign[s] >= 0);
// empty slots untouched.
void combineBackwardExperts(const CombineParams& p, const float* dy, const int32_t* assign, const float* wt,
                            float* doe, Activation act = Activation::None, const float* oe = nullptr) {
  const uint32_t D = p.D;
  for (uint32_t s = 0; s < p.S; ++s) {
    if (assign[s] < 0) continue;  // empty: never read
    float* out = doe + size_t(s) * D;
    const float w = wt[assign[s]];
    const float* g = dy + size_t(uint32_t(assign[s]) / p.k) * D;
    for (uint32_t d = 0; d < D; ++d) out[d] = w * g[d];
    if (act == Activation::None) continue;
    const float* o = oe + size_t(s) * D;
    for (uint32_t d = 0; d < D; ++d) out[d] *= gradFromOutput(act, o[d]);
  }
}

// dwt[n,j] = <dy[n,:], oe[slot[n,j],:]>, d ascending; 0 for a dropped choice.
void combineBackwardWeights(const CombineParams& p, const float* dy, const float* oe, const int32_t* slot,
                            float* dwt) {
  const uint32_t D = p.D, k = p.k;
  for (uint32_t n = 0; n < p.N; ++n)
    for (uint32_t j = 0; j < k; ++j) {
      const size_t c = size_t(n) * k + j;
      float dot = 0.0f;
      if (slot[c] >= 0) {
        const float* g = dy + size_t(n) * D;
        const float* o = oe + size_t(slot[c]) * D;
        for (uint32_t d = 0; d < D; ++d) dot += g[d] * o[d];
      }
      dwt[c] = dot;
    }
}

}  // namespace

CombineForward::CombineForward(const Program& program, TensorId oe, TensorId slot, TensorId wt, TensorId y,
                               CombineParams params)
    : oe_(oe), slot_(slot), wt_(wt), y_(y), p_(params) {
  validate(p_, "combine_forward");
  bindings_ = {bind(program, oe), bind(program, slot), bind(program, wt), bind(program, y)};
  name_ = "combine_forward(" + program.info(y).name + ")";
}

// vec4 variant: oe as a texel buffer.
std::vector<bool> CombineForward::texelBindings() const {
  return p_.D % 4 == 0 ? std::vector<bool>{true} : std::vector<bool>{};
}

void CombineForward::runCpu(const ArenaView& a) const {
  const uint32_t D = p_.D, k = p_.k;
  const float* oe = a.f(oe_);
  float* y = a.f(y_);
  const int32_t* slot = a.i(slot_);
  const float* wt = a.f(wt_);
  for (uint32_t n = 0; n < p_.N; ++n) {
    float* out = y + size_t(n) * D;
    std::fill(out, out + D, 0.0f);
    for (uint32_t j = 0; j < k; ++j) {
      const size_t c = size_t(n) * k + j;
      if (slot[c] < 0) continue;
      const float w = wt[c];
      const float* o = oe + size_t(slot[c]) * D;
      for (uint32_t d = 0; d < D; ++d) out[d] += w * o[d];
    }
  }
}

CombineBackwardExperts::CombineBackwardExperts(const Program& program, TensorId dy, TensorId slotAssign,
                                               TensorId wt, TensorId doe, CombineParams params)
    : dy_(dy), slotAssign_(slotAssign), wt_(wt), doe_(doe), p_(params) {
  validate(p_, "combine_backward_experts");
  bindings_ = {bind(program, dy), bind(program, slotAssign), bind(program, wt), bind(program, doe)};
  name_ = "combine_backward_experts(" + program.info(doe).name + ")";
}

void CombineBackwardExperts::runCpu(const ArenaView& a) const {
  combineBackwardExperts(p_, a.f(dy_), a.i(slotAssign_), a.f(wt_), a.f(doe_));
}

CombineBackwardWeights::CombineBackwardWeights(const Program& program, TensorId dy, TensorId oe, TensorId slot,
                                               TensorId dwt, CombineParams params)
    : dy_(dy), oe_(oe), slot_(slot), dwt_(dwt), p_(params) {
  validate(p_, "combine_backward_weights");
  bindings_ = {bind(program, dy), bind(program, oe), bind(program, slot), bind(program, dwt)};
  name_ = "combine_backward_weights(" + program.info(dwt).name + ")";
}

void CombineBackwardWeights::runCpu(const ArenaView& a) const {
  combineBackwardWeights(p_, a.f(dy_), a.f(oe_), a.i(slot_), a.f(dwt_));
}

CombineBackward::CombineBackward(const Program& program, TensorId dy, TensorId oe, TensorId slot, TensorId slotAssign,
                                 TensorId wt, TensorId doe, TensorId dwt, CombineParams params, Activation outputAct)
    : dy_(dy), oe_(oe), slot_(slot), slotAssign_(slotAssign), wt_(wt), doe_(doe), dwt_(dwt), p_(params),
      act_(outputAct) {
  validate(p_, "combine_backward");
  if (!foldsActivation(outputAct))
    throw std::invalid_argument("combine_backward: the experts' output activation " +
                                std::to_string(static_cast<int>(outputAct)) +
                                " has no derivative in terms of its output (use none and the linear's own)");
  bindings_ = {bind(program, dy),  bind(program, oe),  bind(program, slot), bind(program, slotAssign),
               bind(program, wt),  bind(program, doe), bind(program, dwt)};
  name_ = "combine_backward(" + program.info(doe).name + ")";
  auto capped = std::make_shared<CombineBackward>(*this);
  capped->gridCap_ = kCombineCpuClassWorkgroups;
  cpuClass_ = std::move(capped);
}

// vec4 variant: dy and oe as texel buffers.
std::vector<bool> CombineBackward::texelBindings() const {
  return p_.D % 4 == 0 ? std::vector<bool>{true, true} : std::vector<bool>{};
}

Grid CombineBackward::grid() const {
  return {std::max(1u, std::min(gridCap_, ceilDiv(uint64_t(p_.S) + uint64_t(p_.N) * p_.k, localSize())))};
}

const Op& CombineBackward::forDevice(DeviceClass c) const {
  return c == DeviceClass::CpuImplementation && cpuClass_ ? *cpuClass_ : *this;
}

void CombineBackward::runCpu(const ArenaView& a) const {
  combineBackwardExperts(p_, a.f(dy_), a.i(slotAssign_), a.f(wt_), a.f(doe_), act_, a.f(oe_));
  combineBackwardWeights(p_, a.f(dy_), a.f(oe_), a.i(slot_), a.f(dwt_));
}

}  // namespace rl
