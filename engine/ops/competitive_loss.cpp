#include "ops/competitive_loss.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rl {

CompetitiveLoss::CompetitiveLoss(const Program& program, TensorId oe, TensorId slot, TensorId wt, TensorId target,
                                 TensorId doe, TensorId dwt, TensorId out, CompetitiveParams params)
    : oe_(oe), slot_(slot), wt_(wt), target_(target), doe_(doe), dwt_(dwt), out_(out), p_(params) {
  if (p_.N == 0 || p_.D == 0 || p_.k == 0)
    throw std::invalid_argument("competitive_loss: need N, D, k >= 1 (N " + std::to_string(p_.N) + ", D " +
                                std::to_string(p_.D) + ", k " + std::to_string(p_.k) + ")");
  bindings_ = {bind(program, oe),  bind(program, slot), bind(program, wt), bind(program, target),
               bind(program, doe), bind(program, dwt),  bind(program, out)};
  name_ = "competitive_loss(" + program.info(out).name + ")";
}

void CompetitiveLoss::runCpu(const ArenaView& a) const {
  const uint32_t N = p_.N, k = p_.k, D = p_.D;
  const float* oe = a.f(oe_);
  const float* target = a.f(target_);
  float* doe = a.f(doe_);
  const int32_t* slot = a.i(slot_);
  const float* wt = a.f(wt_);
  float* dwt = a.f(dwt_);
  const float g = p_.scale / float(N);
  std::fill(doe, doe + size_t(p_.S) * D, 0.0f);

  double total = 0.0;
  for (uint32_t n = 0; n < N; ++n) {
    const int32_t* s = slot + size_t(n) * k;
    const float* w = wt + size_t(n) * k;
    const float* t = target + size_t(n) * D;
    float* dw = dwt + size_t(n) * k;
    // dw holds the half squared distances until the last pass.
    float m = -INFINITY;
    for (uint32_t j = 0; j < k; ++j) {
      if (s[j] < 0) continue;
      const float* o = oe + size_t(s[j]) * D;
      float d = 0.0f;
      for (uint32_t f = 0; f < D; ++f) d += (t[f] - o[f]) * (t[f] - o[f]);
      dw[j] = 0.5f * d;
      if (w[j] > 0.0f) m = std::max(m, std::log(w[j]) - dw[j]);
    }
    if (m == -INFINITY) {  // nothing left in the mixture
      std::fill(dw, dw + k, 0.0f);
      continue;
    }
    float sum = 0.0f;
    for (uint32_t j = 0; j < k; ++j)
      if (s[j] >= 0 && w[j] > 0.0f) sum += std::exp(std::log(w[j]) - dw[j] - m);
    const float loss = -(m + std::log(sum));
    total += loss;
    for (uint32_t j = 0; j < k; ++j) {
      if (s[j] < 0) {
        dw[j] = 0.0f;
        continue;
      }
      const float r = std::exp(loss - dw[j]);
      const float post = g * w[j] * r;
      const float* o = oe + size_t(s[j]) * D;
      float* go = doe + size_t(s[j]) * D;
      for (uint32_t f = 0; f < D; ++f) go[f] = post * (o[f] - t[f]);
      dw[j] = -g * r;
    }
  }
  a.f(out_)[0] = float(total / N);
}

}  // namespace rl
