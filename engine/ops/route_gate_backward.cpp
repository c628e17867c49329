#include "ops/route_gate_backward.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ops/globals.h"
#include "ops/route_gate.h"
#include "ops/routing_math.h"
#include "spec/spec.h"

namespace rl {

RouteGateBackward::RouteGateBackward(const Program& program, TensorId dwt, TensorId probs, TensorId h,
                                     TensorId idx, TensorId wt, TensorId noiseLogits, TensorId globals,
                                     TensorId load, TensorId dlogits, TensorId dnoiseLogits, GateBwdParams params)
    : dwt_(dwt), probs_(probs), h_(h), idx_(idx), wt_(wt), noise_(noiseLogits), globals_(globals), load_(load),
      dlogits_(dlogits), dnoise_(dnoiseLogits), p_(params) {
  validateGate(p_.N, p_.E, p_.k, p_.type, p_.temperature, "route_gate_backward");
  if (p_.type == static_cast<uint32_t>(RouterType::NoisyTopK) && dnoiseLogits == dlogits)
    throw std::invalid_argument("route_gate_backward: NoisyTopK needs its own noise-logit gradient tensor");
  bindings_ = {bind(program, dwt),         bind(program, probs),   bind(program, h),
               bind(program, idx),         bind(program, wt),      bind(program, noiseLogits),
               bind(program, globals),     bind(program, load),    bind(program, dlogits),
               bind(program, dnoiseLogits)};
  name_ = "route_gate_backward(" + program.info(dlogits).name + ")";
}

void RouteGateBackward::runCpu(const ArenaView& a) const {
  const uint32_t N = p_.N, E = p_.E, k = p_.k;
  const auto type = static_cast<RouterType>(p_.type);
  const bool noisyType = type == RouterType::NoisyTopK;
  const Globals g = routing::readGlobals(a, globals_);
  const float auxScale = p_.auxCoef * float(E) / float(N), zScale = 2.0f * p_.zCoef / float(N);
  const float* load = a.f(load_);

  for (uint32_t n = 0; n < N; ++n) {
    const float* dwt = a.f(dwt_) + size_t(n) * k;
    const float* wt = a.f(wt_) + size_t(n) * k;
    const int32_t* idx = a.i(idx_) + size_t(n) * k;
    const float* p = a.f(probs_) + size_t(n) * E;
    const float* h = a.f(h_) + size_t(n) * E;
    const float* nl = a.f(noise_) + size_t(n) * E;
    float* dp = a.f(dlogits_) + size_t(n) * E;  // holds d/dp until the last pass
    float* dh = a.f(dnoise_) + size_t(n) * E;   // NoisyTopK: holds d/dh until the last pass

    float G = 0.0f, selected = 0.0f;
    for (uint32_t j = 0; j < k; ++j) {
      G += dwt[j] * wt[j];
      selected += p[idx[j]];
    }
    const float m = *std::max_element(h, h + E);
    float s = 0.0f;
    for (uint32_t e = 0; e < E; ++e) s += std::exp(h[e] - m);
    const float lse = m + std::log(s), zc = zScale * lse;

    for (uint32_t e = 0; e < E; ++e) {
      dp[e] = auxScale * load[e];
      if (noisyType) dh[e] = zc * std::exp(h[e] - lse);
    }
    for (uint32_t j = 0; j < k; ++j) {
      const int32_t e = idx[j];
      if (e < 0 || uint32_t(e) >= E) continue;
      if (type == RouterType::TopK) dp[e] += (dwt[j] - G) / selected;
      else if (noisyType) dh[e] += wt[j] * (dwt[j] - G);
      else dp[e] += dwt[j];  // Dense, Switch: wt = p
    }
    float pd = 0.0f;
    for (uint32_t e = 0; e < E; ++e) pd += p[e] * dp[e];

    const bool noise = noisyType && g.train != 0;
    for (uint32_t e = 0; e < E; ++e) {
      const float dhe = noisyType ? dh[e] : zc * std::exp(h[e] - lse);
      dp[e] = (p[e] * (dp[e] - pd) + dhe) / p_.temperature;  // now dlogits
      if (noisyType)
        dh[e] = noise ? dhe * routing::normalNoise(g.seed, g.step, p_.noiseStream, n * E + e) * routing::sigmoid(nl[e])
                      : 0.0f;
    }
  }
}

}  // namespace rl
