#version 450
// Routing tables and metrics for hash / task, expert-choice and Soft MoE routing. Twin of
// TokenRouteStats::runCpu (engine/ops/token_route_stats.h has the definitions per mode).
// One workgroup of kThreads: lane t owns token rows t, t+kThreads, ... (tables, entropy, dropped)
// and expert t < E (load, importance: a sequential loop over the tokens, reading only the inputs,
// so no lane reads another lane's table writes). Partial sums meet in a fixed tree in shared memory.
#include "common.glsl"

layout(std430, binding = 0) buffer Probs { float probs[]; };            // [N,E]
layout(std430, binding = 1) readonly buffer CombineW { float combineW[]; };  // [N,E*S] (Soft)
layout(std430, binding = 2) buffer Idx { int idx[]; };                  // [N,k]
layout(std430, binding = 3) buffer Slot { int slot[]; };                // [N,k]
layout(std430, binding = 4) buffer Wt { float wt[]; };                  // [N,E] (Soft)
layout(std430, binding = 5) writeonly buffer Load { float load[]; };
layout(std430, binding = 6) writeonly buffer Importance { float importance[]; };
layout(std430, binding = 7) writeonly buffer Scalars { float scalars[]; };

// Mirrors rl::TokenRouteStatsParams.
layout(push_constant) uniform P {
  uint N, E, S, mode;  // mode: 0 fixed, 1 expert choice, 2 soft
} p;

const uint kThreads = 64u;  // = TokenRouteStats::kThreads = local size
shared float partEntropy[kThreads], partDropped[kThreads], partCount[kThreads];

void main() {
  if (gl_WorkGroupID.x != 0u) return;
  const uint t = gl_LocalInvocationID.x, N = p.N, E = p.E, S = p.S;

  float entropy = 0.0;
  uint dropped = 0u;
  for (uint n = t; n < N; n += kThreads) {
    bool taken = false;
    float ent = 0.0;
    for (uint e = 0u; e < E; ++e) {
      const uint ne = n * E + e;
      float q;
      if (p.mode == 0u) {
        q = idx[n] == int(e) ? 1.0 : 0.0;
        probs[ne] = q;
      } else if (p.mode == 1u) {
        idx[ne] = int(e);
        taken = taken || slot[ne] >= 0;
        q = probs[ne];
      } else {
        const uint base = n * E * S + e * S;
        q = 0.0;
        for (uint s = 0u; s < S; ++s) q += combineW[base + s];
        probs[ne] = q;
        wt[ne] = q;
        idx[ne] = int(e);
        slot[ne] = int(e);
        taken = true;
      }
      if (q > 0.0) ent -= q * log(q);
    }
    if (p.mode == 0u) taken = slot[n] >= 0;
    dropped += taken ? 0u : 1u;
    entropy += ent;
  }

  float count = 0.0;
  if (t < E) {
    const uint e = t;
    float colSum = 0.0;
    for (uint n = 0u; n < N; ++n) {
      const uint ne = n * E + e;
      if (p.mode == 0u) {
        const float hit = idx[n] == int(e) ? 1.0 : 0.0;
        count += hit;
        colSum += hit;
      } else if (p.mode == 1u) {
        count += slot[ne] >= 0 ? 1.0 : 0.0;
        colSum += probs[ne];
      } else {
        const uint base = n * E * S + e * S;
        float q = 0.0;
        for (uint s = 0u; s < S; ++s) q += combineW[base + s];
        colSum += q;
      }
    }
    importance[e] = colSum / float(N);
  }
  partCount[t] = count;
  partEntropy[t] = entropy;
  partDropped[t] = float(dropped);  // exact below 2^24 tokens
  barrier();
  // Every lane sums the expert counts in expert order (the CPU reference's order).
  float taken = 0.0;
  for (uint e = 0u; e < E; ++e) taken += partCount[e];
  if (t < E) {
    if (p.mode == 0u) load[t] = count / float(N);
    else if (p.mode == 1u) load[t] = taken > 0.0 ? count / taken : 0.0;
    else load[t] = 1.0 / float(E);
  }
  barrier();
  for (uint stride = kThreads / 2u; stride > 0u; stride /= 2u) {
    if (t < stride) {
      partEntropy[t] += partEntropy[t + stride];
      partDropped[t] += partDropped[t + stride];
    }
    barrier();
  }
  if (t == 0u) {
    scalars[0] = 0.0;
    scalars[1] = 0.0;
    scalars[2] = partEntropy[0] / float(N);
    scalars[3] = partDropped[0] / float(N);
  }
}
