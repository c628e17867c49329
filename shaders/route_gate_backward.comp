#version 450
// Router gate backward, one invocation per token row. Twin of RouteGateBackward::runCpu
// (engine/ops/route_gate_backward.cpp), which states the formulas. N tokens, E experts, k choices.
// The row of dlogits holds d/dprobs and (NoisyTopK) the row of dnoiseLogits holds d/dh until the
// last pass overwrites them; only this invocation touches those rows.
#include "common.glsl"
#include "routing.glsl"

layout(std430, binding = 0) readonly buffer Dwt { float dwt[]; };
layout(std430, binding = 1) readonly buffer Probs { float probs[]; };
layout(std430, binding = 2) readonly buffer H { float h[]; };
layout(std430, binding = 3) readonly buffer Idx { int idx[]; };
layout(std430, binding = 4) readonly buffer Wt { float wt[]; };
layout(std430, binding = 5) readonly buffer NoiseLogits { float noiseLogits[]; };
layout(std430, binding = 6) readonly buffer Globals { uint globals[]; };  // step, seed, lr, train
layout(std430, binding = 7) readonly buffer Load { float load[]; };
layout(std430, binding = 8) buffer Dlogits { float dp[]; };
layout(std430, binding = 9) buffer Dnoise { float dh[]; };

layout(push_constant) uniform P {
  uint N, E, k, type;
  float temperature;
  uint noiseStream;
  float auxCoef, zCoef;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.N) return;
  uint n = gl_GlobalInvocationID.x;
  uint E = p.E, k = p.k, row = n * E, c0 = n * k;
  bool noisyType = p.type == RL_ROUTER_NOISY_TOPK;
  float auxScale = p.auxCoef * float(E) / float(p.N), zScale = 2.0 * p.zCoef / float(p.N);

  float G = 0.0, selected = 0.0;
  for (uint j = 0u; j < k; ++j) {
    G += dwt[c0 + j] * wt[c0 + j];
    selected += probs[row + uint(idx[c0 + j])];
  }
  float m = h[row];
  for (uint e = 1u; e < E; ++e) m = max(m, h[row + e]);
  float s = 0.0;
  for (uint e = 0u; e < E; ++e) s += exp(h[row + e] - m);
  float lse = m + log(s), zc = zScale * lse;

  for (uint e = 0u; e < E; ++e) {
    dp[row + e] = auxScale * load[e];
    if (noisyType) dh[row + e] = zc * (exp(h[row + e] - m) / s);
  }
  for (uint j = 0u; j < k; ++j) {
    int e = idx[c0 + j];
    if (e < 0 || e >= int(E)) continue;
    uint i = row + uint(e);
    float g = dwt[c0 + j];
    if (p.type == RL_ROUTER_TOPK) dp[i] = dp[i] + (g - G) / selected;
    else if (noisyType) dh[i] = dh[i] + wt[c0 + j] * (g - G);
    else dp[i] = dp[i] + g;  // Dense, Switch: wt = p
  }
  float pd = 0.0;
  for (uint e = 0u; e < E; ++e) pd += probs[row + e] * dp[row + e];

  bool noise = noisyType && globals[3] != 0u;
  for (uint e = 0u; e < E; ++e) {
    uint i = row + e;
    float dhe = noisyType ? dh[i] : zc * (exp(h[i] - m) / s);
    dp[i] = (probs[i] * (dp[i] - pd) + dhe) / p.temperature;
    if (noisyType)
      dh[i] = noise ? dhe * rl_normal_noise(globals[1], globals[0], p.noiseStream, i) * rl_sigmoid(noiseLogits[i])
                    : 0.0;
  }
}
