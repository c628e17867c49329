#version 450
// Router statistics and auxiliary losses in one workgroup of 256 invocations. Twin of
// RouterStats::runCpu (engine/ops/router_stats.cpp). N tokens, E experts, k choices per token.
// Invocation t owns experts t, t+256, ... (load, importance) and rows t, t+256, ...; its partial
// sums meet in a fixed tree in shared memory, so the result is the same on every run.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Probs { float probs[]; };
layout(std430, binding = 1) readonly buffer H { float h[]; };
layout(std430, binding = 2) readonly buffer Idx { int idx[]; };
layout(std430, binding = 3) readonly buffer Slot { int slot[]; };
layout(std430, binding = 4) writeonly buffer Load { float load[]; };
layout(std430, binding = 5) writeonly buffer Importance { float importance[]; };
layout(std430, binding = 6) writeonly buffer Scalars { float scalars[]; };

layout(push_constant) uniform P {
  uint N, E, k;
  float auxCoef, zCoef;
} p;

const uint kThreads = 256u;  // = RouterStats::kThreads = local size
shared float partAux[kThreads], partZ[kThreads], partEntropy[kThreads], partDropped[kThreads];

void main() {
  if (gl_WorkGroupID.x != 0u) return;  // one workgroup; the whole group leaves together
  uint t = gl_LocalInvocationID.x, N = p.N, E = p.E, choices = p.N * p.k;

  float aux = 0.0;
  for (uint e = t; e < E; e += kThreads) {
    uint count = 0u;
    for (uint c = 0u; c < choices; ++c) count += idx[c] == int(e) ? 1u : 0u;
    float colSum = 0.0;
    for (uint n = 0u; n < N; ++n) colSum += probs[n * E + e];
    float l = float(count) / float(choices), imp = colSum / float(N);
    load[e] = l;
    importance[e] = imp;
    aux += l * imp;
  }

  float z = 0.0, entropy = 0.0;
  for (uint n = t; n < N; n += kThreads) {
    uint row = n * E;
    float m = h[row];
    for (uint e = 1u; e < E; ++e) m = max(m, h[row + e]);
    float s = 0.0, ent = 0.0;
    for (uint e = 0u; e < E; ++e) {
      s += exp(h[row + e] - m);
      float q = probs[row + e];
      if (q > 0.0) ent -= q * log(q);
    }
    float lse = m + log(s);
    z += lse * lse;
    entropy += ent;
  }

  uint dropped = 0u;
  for (uint c = t; c < choices; c += kThreads) dropped += slot[c] == -1 ? 1u : 0u;

  partAux[t] = aux;
  partZ[t] = z;
  partEntropy[t] = entropy;
  partDropped[t] = float(dropped);  // exact below 2^24 choices
  barrier();
  for (uint stride = kThreads / 2u; stride > 0u; stride /= 2u) {
    if (t < stride) {
      partAux[t] += partAux[t + stride];
      partZ[t] += partZ[t + stride];
      partEntropy[t] += partEntropy[t + stride];
      partDropped[t] += partDropped[t + stride];
    }
    barrier();
  }
  if (t == 0u) {
    scalars[0] = p.auxCoef * float(E) * partAux[0];
    scalars[1] = p.zCoef * partZ[0] / float(N);
    scalars[2] = partEntropy[0] / float(N);
    scalars[3] = partDropped[0] / float(choices);
  }
}
