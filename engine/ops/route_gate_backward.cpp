#include "ops/route_gate_backward.h"

#include <Eigen/Core>
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
  const size_t NE = size_t(N) * E;
  const auto type = static_cast<RouterType>(p_.type);
  const bool noisyType = type == RouterType::NoisyTopK;
  const Globals g = routing::readGlobals(a, globals_);
  const float auxScale = p_.auxCoef * float(E) / float(N), zScale = 2.0f * p_.zCoef / float(N);
  const float* load = a.f(load_);
  const float* probs = a.f(probs_);
  float* dp = a.f(dlogits_);  // holds d/dprobs until the last pass
  float* dh = a.f(dnoise_);   // NoisyTopK: holds d/dh until the last pass

  // softmax(h) and lse per row (for the z-loss), vectorised over the whole matrix.
  float* sm = routing::scratch(0, NE);
  float* rowMax = routing::scratch(1, N);
  float* rowSum = routing::scratch(2, N);
  routing::shiftedExp(a.f(h_), N, E, sm, rowMax, rowSum);

  for (uint32_t n = 0; n < N; ++n) {
    const size_t row = size_t(n) * E;
    const float* dwt = a.f(dwt_) + size_t(n) * k;
    const float* wt = a.f(wt_) + size_t(n) * k;
    const int32_t* idx = a.i(idx_) + size_t(n) * k;
    const float* p = probs + row;
    const float zc = zScale * (rowMax[n] + std::log(rowSum[n]));
    for (uint32_t e = 0; e < E; ++e) {
      sm[row + e] /= rowSum[n];
      dp[row + e] = auxScale * load[e];
      if (noisyType) dh[row + e] = zc * sm[row + e];
    }

    float G = 0.0f, selected = 0.0f;
    for (uint32_t j = 0; j < k; ++j) {
      G += dwt[j] * wt[j];
      selected += p[idx[j]];
    }
    for (uint32_t j = 0; j < k; ++j) {
      const int32_t e = idx[j];
      if (e < 0 || uint32_t(e) >= E) continue;
      if (type == RouterType::TopK) dp[row + e] += (dwt[j] - G) / selected;
      else if (noisyType) dh[row + e] += wt[j] * (dwt[j] - G);
      else dp[row + e] += dwt[j];  // Dense, Switch: wt = p
    }

    float pd = 0.0f;
    for (uint32_t e = 0; e < E; ++e) pd += p[e] * dp[row + e];
    for (uint32_t e = 0; e < E; ++e) {
      const float dhe = noisyType ? dh[row + e] : zc * sm[row + e];
      dp[row + e] = (p[e] * (dp[row + e] - pd) + dhe) / p_.temperature;  // now dlogits
    }
  }

  if (!noisyType) return;
  // h = z + eps * softplus(noiseLogits) while training: dnoise = dh * eps * sigmoid(noiseLogits).
  Eigen::Map<Eigen::ArrayXf> DH(dh, Eigen::Index(NE));
  if (g.train == 0) {
    DH.setZero();
    return;
  }
  float* eps = routing::scratch(3, NE);
  routing::normalNoise(g.seed, g.step, p_.noiseStream, 0, NE, eps, sm);  // sm is free again
  Eigen::Map<const Eigen::ArrayXf> nl(a.f(noise_), Eigen::Index(NE));
  DH *= Eigen::Map<Eigen::ArrayXf>(eps, Eigen::Index(NE)) / (1.0f + (-nl).exp());
}

}  // namespace rl
