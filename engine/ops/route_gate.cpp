#include "ops/route_gate.h"

#include <Eigen/Core>
#include <cmath>
#include <stdexcept>

#include "ops/globals.h"
#include "ops/routing_math.h"
#include "spec/spec.h"

namespace rl {

void validateGate(uint32_t N, uint32_t E, uint32_t k, uint32_t type, float temperature, const char* op) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument(std::string(op) + ": " + why + " (N " + std::to_string(N) + ", E " +
                                std::to_string(E) + ", k " + std::to_string(k) + ", type " +
                                std::to_string(type) + ")");
  };
  if (E == 0 || k == 0 || k > E) fail("need 1 <= k <= E");
  if (type > static_cast<uint32_t>(RouterType::Switch)) fail("unknown router type");
  if (type == static_cast<uint32_t>(RouterType::Dense) && k != E) fail("a dense router uses every expert (k = E)");
  if (type == static_cast<uint32_t>(RouterType::Switch) && k != 1) fail("a switch router picks one expert (k = 1)");
  if (!(temperature > 0.0f)) fail("temperature must be positive");
}

RouteGate::RouteGate(const Program& program, TensorId logits, TensorId noiseLogits, TensorId globals,
                     TensorId probs, TensorId h, TensorId idx, TensorId wt, GateParams params)
    : logits_(logits), noise_(noiseLogits), globals_(globals), probs_(probs), h_(h), idx_(idx), wt_(wt),
      p_(params) {
  validateGate(p_.N, p_.E, p_.k, p_.type, p_.temperature, "route_gate");
  bindings_ = {bind(program, logits), bind(program, noiseLogits), bind(program, globals), bind(program, probs),
               bind(program, h),      bind(program, idx),         bind(program, wt)};
  name_ = "route_gate(" + program.info(probs).name + ")";
}

void RouteGate::runCpu(const ArenaView& a) const {
  const uint32_t N = p_.N, E = p_.E, k = p_.k;
  const size_t NE = size_t(N) * E;
  const auto type = static_cast<RouterType>(p_.type);
  const Globals g = routing::readGlobals(a, globals_);
  float* probs = a.f(probs_);
  float* h = a.f(h_);
  float* rowMax = routing::scratch(0, N);
  float* rowSum = routing::scratch(1, N);

  // Whole-matrix passes (the transcendentals vectorise), then the per-row choices.
  Eigen::Map<Eigen::ArrayXf> H(h, Eigen::Index(NE)), P(probs, Eigen::Index(NE));
  H = Eigen::Map<const Eigen::ArrayXf>(a.f(logits_), Eigen::Index(NE)) / p_.temperature;
  routing::shiftedExp(h, N, E, probs, rowMax, rowSum);
  for (uint32_t n = 0; n < N; ++n)
    for (uint32_t e = 0; e < E; ++e) probs[size_t(n) * E + e] /= rowSum[n];
  if (type == RouterType::NoisyTopK && g.train != 0) {
    float* eps = routing::scratch(2, NE);
    routing::normalNoise(g.seed, g.step, p_.noiseStream, 0, NE, eps, routing::scratch(3, NE));
    Eigen::Map<const Eigen::ArrayXf> nl(a.f(noise_), Eigen::Index(NE));
    const auto softplus = nl.max(0.0f) + (1.0f + (-nl.abs()).exp()).log();
    H += Eigen::Map<Eigen::ArrayXf>(eps, Eigen::Index(NE)) * softplus;
  }

  for (uint32_t n = 0; n < N; ++n) {
    const float* p = probs + size_t(n) * E;
    const float* hr = h + size_t(n) * E;
    int32_t* idx = a.i(idx_) + size_t(n) * k;
    float* wt = a.f(wt_) + size_t(n) * k;
    switch (type) {
      case RouterType::Dense:
        for (uint32_t j = 0; j < k; ++j) {
          idx[j] = int32_t(j);
          wt[j] = p[j];
        }
        break;
      case RouterType::Switch:
        routing::selectTopK(E, k, [&](uint32_t e) { return p[e]; }, idx);
        for (uint32_t j = 0; j < k; ++j) wt[j] = p[idx[j]];
        break;
      case RouterType::TopK: {
        routing::selectTopK(E, k, [&](uint32_t e) { return p[e]; }, idx);
        float s = 0.0f;
        for (uint32_t j = 0; j < k; ++j) s += p[idx[j]];
        for (uint32_t j = 0; j < k; ++j) wt[j] = p[idx[j]] / s;
        break;
      }
      case RouterType::NoisyTopK: {
        routing::selectTopK(E, k, [&](uint32_t e) { return hr[e]; }, idx);
        const float top = hr[idx[0]];
        float s = 0.0f;
        for (uint32_t j = 0; j < k; ++j) {
          wt[j] = std::exp(hr[idx[j]] - top);
          s += wt[j];
        }
        for (uint32_t j = 0; j < k; ++j) wt[j] /= s;
        break;
      }
    }
  }
}

}  // namespace rl
