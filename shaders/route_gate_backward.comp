#version 450
// Router gate backward, one invocation per token row. Twin of RouteGateBackward::runCpu
// (engine/ops/route_gate_backward.cpp), which states the formulas. N tokens, E experts, k choices.
// The row's softmax terms, d/dprobs and (NoisyTopK) d/dh live in per-invocation arrays of EXPERTS
// (= E, a specialisation constant) entries, so each input is read once and each output written
// once (on lavapipe every buffer access is a per-lane loop; the global-scratch version spent most
// of its time re-reading and re-writing the output rows).
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
layout(std430, binding = 8) writeonly buffer Dlogits { float dp[]; };
layout(std430, binding = 9) writeonly buffer Dnoise { float dh[]; };  // NoisyTopK only (else the same tensor as Dlogits)

layout(constant_id = 1) const uint EXPERTS = 1;  // = p.E

layout(push_constant) uniform P {
  uint N, E, k, type;
  float temperature;
  uint noiseStream;
  float auxCoef, zCoef;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.N) return;
  const uint n = gl_GlobalInvocationID.x;
  const uint k = p.k, row = n * EXPERTS, c0 = n * k;
  const bool noisyType = p.type == RL_ROUTER_NOISY_TOPK;
  const float auxScale = p.auxCoef * float(EXPERTS) / float(p.N), zScale = 2.0 * p.zCoef / float(p.N);

  float ex[EXPERTS], pr[EXPERTS], dpr[EXPERTS], dhr[EXPERTS];  // exp(h - max), probs, d/dprobs, d/dh
  float m = h[row];
  [[unroll]] for (uint e = 0u; e < EXPERTS; ++e) {
    ex[e] = h[row + e];
    m = max(m, ex[e]);
  }
  float s = 0.0;
  [[unroll]] for (uint e = 0u; e < EXPERTS; ++e) {
    ex[e] = exp(ex[e] - m);
    s += ex[e];
  }
  const float zc = zScale * (m + log(s));
  [[unroll]] for (uint e = 0u; e < EXPERTS; ++e) {
    pr[e] = probs[row + e];
    dpr[e] = auxScale * load[e];
    dhr[e] = noisyType ? zc * (ex[e] / s) : 0.0;
  }

  // The k choices in turn (j ascending, as on the CPU), each applied to its expert by comparison
  // over the unrolled e: every array index is then a compile-time constant and the arrays stay in
  // registers (an index read from idx made lavapipe keep them in per-lane memory: ~2x slower).
  float G = 0.0, selected = 0.0;
  for (uint j = 0u; j < k; ++j) {
    const int chosen = idx[c0 + j];
    G += dwt[c0 + j] * wt[c0 + j];
    [[unroll]] for (uint e = 0u; e < EXPERTS; ++e)
      if (int(e) == chosen) selected += pr[e];
  }
  for (uint j = 0u; j < k; ++j) {
    const int chosen = idx[c0 + j];
    const float g = dwt[c0 + j], w = wt[c0 + j];
    [[unroll]] for (uint e = 0u; e < EXPERTS; ++e) {
      if (int(e) != chosen) continue;
      if (p.type == RL_ROUTER_TOPK) dpr[e] += (g - G) / selected;
      else if (noisyType) dhr[e] += w * (g - G);
      else dpr[e] += g;  // Dense, Switch: wt = p
    }
  }
  float pd = 0.0;
  [[unroll]] for (uint e = 0u; e < EXPERTS; ++e) pd += pr[e] * dpr[e];

  const bool noise = noisyType && globals[3] != 0u;
  [[unroll]] for (uint e = 0u; e < EXPERTS; ++e) {
    const uint i = row + e;
    const float dhe = noisyType ? dhr[e] : zc * (ex[e] / s);
    dp[i] = (pr[e] * (dpr[e] - pd) + dhe) / p.temperature;
    if (noisyType)
      dh[i] = noise ? dhe * rl_normal_noise(globals[1], globals[0], p.noiseStream, i) * rl_sigmoid(noiseLogits[i])
                    : 0.0;
  }
}
