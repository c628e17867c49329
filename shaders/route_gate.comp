#version 450
// Router gate, one invocation per token row. Twin of RouteGate::runCpu (engine/ops/route_gate.cpp).
// N tokens, E experts, k choices per token.
#include "common.glsl"
#include "routing.glsl"

layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) readonly buffer NoiseLogits { float noiseLogits[]; };
layout(std430, binding = 2) readonly buffer Globals { uint globals[]; };  // step, seed, lr, train
layout(std430, binding = 3) buffer Probs { float probs[]; };
layout(std430, binding = 4) buffer H { float h[]; };
layout(std430, binding = 5) writeonly buffer Idx { int idx[]; };
layout(std430, binding = 6) buffer Wt { float wt[]; };

layout(push_constant) uniform P {
  uint N, E, k, type;
  float temperature;
  uint noiseStream;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.N) return;
  uint n = gl_GlobalInvocationID.x;
  uint E = p.E, k = p.k, row = n * E, out0 = n * k;
  bool noisy = p.type == RL_ROUTER_NOISY_TOPK && globals[3] != 0u;

  float m = -1.0 / 0.0;
  for (uint e = 0u; e < E; ++e) m = max(m, logits[row + e] / p.temperature);
  float sum = 0.0;
  for (uint e = 0u; e < E; ++e) {
    float q = exp(logits[row + e] / p.temperature - m);
    probs[row + e] = q;
    sum += q;
  }
  for (uint e = 0u; e < E; ++e) {
    probs[row + e] = probs[row + e] / sum;
    float v = logits[row + e] / p.temperature;
    if (noisy)
      v += rl_normal_noise(globals[1], globals[0], p.noiseStream, row + e) * rl_softplus(noiseLogits[row + e]);
    h[row + e] = v;
  }

  if (p.type == RL_ROUTER_DENSE) {
    for (uint j = 0u; j < k; ++j) {
      idx[out0 + j] = int(j);
      wt[out0 + j] = probs[row + j];
    }
    return;
  }

  // Top-k by repeated selection (see rl_ranks_below); NoisyTopK ranks h, the others probs.
  bool byH = p.type == RL_ROUTER_NOISY_TOPK;
  int prev = -1;
  float prevV = 1.0 / 0.0;
  float top = 0.0, s = 0.0;
  for (uint j = 0u; j < k; ++j) {
    int best = -1;
    float bestV = -1.0 / 0.0;
    for (uint e = 0u; e < E; ++e) {
      float v = byH ? h[row + e] : probs[row + e];
      if (rl_ranks_below(v, int(e), prevV, prev) && (best < 0 || v > bestV)) {
        best = int(e);
        bestV = v;
      }
    }
    idx[out0 + j] = best;
    prev = best;
    prevV = bestV;
    // Unnormalised weight: the probability, or exp(h - h_top) for NoisyTopK.
    if (j == 0u) top = bestV;
    float w = byH ? exp(bestV - top) : bestV;
    wt[out0 + j] = w;
    s += w;
  }
  if (p.type == RL_ROUTER_SWITCH) return;
  for (uint j = 0u; j < k; ++j) wt[out0 + j] = wt[out0 + j] / s;
}
