#version 450
// Router chain in one workgroup: router linear (optional), gate, capacity assignment, statistics.
// Twin of RouteFused::runCpu (engine/ops/route_fused.h), which runs route_gate.comp,
// route_assign.comp and router_stats.comp in turn. N tokens, E experts, K choices, C capacity,
// I router inputs. Invocation t owns the contiguous rows [t R, t R + R), R = ceil(N / kThreads), so
// the priority order of the choices (rank-major, rows ascending) is a prefix order over the
// invocations, and the capacity assignment becomes counts and one prefix sum instead of a walk:
//   1. gate own rows (a row lives in registers: E, K, I are specialisation constants); count own
//      choices per (rank, expert) cell; partial importance, z and entropy; empty every slot;
//   2. invocation c < K E turns cell c's counts into exclusive prefixes over the invocations;
//      invocation e < E sums its importance partials;
//   3. every invocation places its own choices (position = earlier ranks' totals + its prefix);
//      invocation e < E writes load and importance;
//   4. invocation 0 sums the partials in a fixed order.
#include "common.glsl"
#include "routing.glsl"

layout(constant_id = 1) const uint E = 8;   // = p.E
layout(constant_id = 2) const uint K = 2;   // = p.k
layout(constant_id = 3) const uint IN = 1;  // = max(p.inputs, 1)

layout(std430, binding = 0) readonly buffer X { float x[]; };   // [N, I]; read only with p.inputs > 0
layout(std430, binding = 1) readonly buffer W { float w[]; };   // [E, I]
layout(std430, binding = 2) buffer Logits { float logits[]; };  // [N, E]: written with p.inputs > 0, else read
layout(std430, binding = 3) readonly buffer NoiseLogits { float noiseLogits[]; };
layout(std430, binding = 4) readonly buffer Globals { uint globals[]; };  // step, seed, lr, train
layout(std430, binding = 5) writeonly buffer Probs { float probs[]; };
layout(std430, binding = 6) writeonly buffer H { float h[]; };
layout(std430, binding = 7) buffer Idx { int idx[]; };
layout(std430, binding = 8) writeonly buffer Wt { float wt[]; };
layout(std430, binding = 9) writeonly buffer Slot { int slot[]; };
layout(std430, binding = 10) writeonly buffer SlotAssign { int slotAssign[]; };
layout(std430, binding = 11) writeonly buffer Load { float load[]; };
layout(std430, binding = 12) writeonly buffer Importance { float importance[]; };
layout(std430, binding = 13) writeonly buffer Scalars { float scalars[]; };

// Mirrors rl::RouteFusedParams.
layout(push_constant) uniform P {
  uint N, E, k, type;
  float temperature;
  uint noiseStream, C;
  float auxCoef, zCoef;
  uint inputs;
} p;

const uint kThreads = 32u;   // = RouteFused::kThreads = local size
const uint kMaxCells = 32u;  // = RouteFused::kMaxCells: K E at most
// count[c * kThreads + t]: invocation t's choices in cell c = rank j * E + expert e; after phase 2
// the number of cell-c choices before invocation t's rows, advanced as phase 3 places them.
shared uint count[kMaxCells * kThreads];
shared uint cellTotal[kMaxCells];
shared float impPart[kMaxCells * kThreads];  // [e * kThreads + t], E <= kMaxCells
shared float impSum[kMaxCells];
shared float partZ[kThreads], partEntropy[kThreads], partAux[kThreads], partDropped[kThreads];

// Phase 1 for row n: as route_gate.comp, plus the row's squared log-sum-exp of h, its entropy, its
// probabilities into imp and its choices into the invocation's cell counts.
void gateRow(const uint n, const uint t, inout float zSum, inout float entropySum, inout float imp[E]) {
  const uint row = n * E, out0 = n * K;
  float z[E];  // logits / T
  if (p.inputs > 0u) {
    float xr[IN];
    for (uint i = 0u; i < IN; ++i) xr[i] = x[n * IN + i];
    for (uint e = 0u; e < E; ++e) {
      float s = 0.0;
      for (uint i = 0u; i < IN; ++i) s += xr[i] * w[e * IN + i];
      logits[row + e] = s;
      z[e] = s / p.temperature;
    }
  } else {
    for (uint e = 0u; e < E; ++e) z[e] = logits[row + e] / p.temperature;
  }

  float m = -1.0 / 0.0;
  for (uint e = 0u; e < E; ++e) m = max(m, z[e]);
  float q[E];
  float sum = 0.0;
  for (uint e = 0u; e < E; ++e) {
    q[e] = exp(z[e] - m);
    sum += q[e];
  }
  const bool noisy = p.type == RL_ROUTER_NOISY_TOPK && globals[3] != 0u;
  float hv[E];
  float ent = 0.0;
  for (uint e = 0u; e < E; ++e) {
    q[e] = q[e] / sum;
    probs[row + e] = q[e];
    imp[e] += q[e];
    if (q[e] > 0.0) ent -= q[e] * log(q[e]);
    float v = z[e];
    if (noisy)
      v += rl_normal_noise(globals[1], globals[0], p.noiseStream, row + e) * rl_softplus(noiseLogits[row + e]);
    hv[e] = v;
    h[row + e] = v;
  }
  entropySum += ent;
  float mh = hv[0];
  for (uint e = 1u; e < E; ++e) mh = max(mh, hv[e]);
  float sh = 0.0;
  for (uint e = 0u; e < E; ++e) sh += exp(hv[e] - mh);
  const float lse = mh + log(sh);
  zSum += lse * lse;

  if (p.type == RL_ROUTER_DENSE) {
    for (uint j = 0u; j < K; ++j) {
      idx[out0 + j] = int(j);
      wt[out0 + j] = q[j];
      count[(j * E + j) * kThreads + t] += 1u;
    }
    return;
  }
  // Top-k by repeated selection (rl_ranks_below); NoisyTopK ranks h, the others probs.
  const bool byH = p.type == RL_ROUTER_NOISY_TOPK;
  int prev = -1;
  float prevV = 1.0 / 0.0, top = 0.0, s = 0.0;
  float wv[K];
  for (uint j = 0u; j < K; ++j) {
    int best = -1;
    float bestV = -1.0 / 0.0;
    for (uint e = 0u; e < E; ++e) {
      const float v = byH ? hv[e] : q[e];
      if (rl_ranks_below(v, int(e), prevV, prev) && (best < 0 || v > bestV)) {
        best = int(e);
        bestV = v;
      }
    }
    idx[out0 + j] = best;
    if (best >= 0) count[(j * E + uint(best)) * kThreads + t] += 1u;  // -1 only for NaN rows
    prev = best;
    prevV = bestV;
    if (j == 0u) top = bestV;
    wv[j] = byH ? exp(bestV - top) : bestV;  // unnormalised: the probability, or exp(h - h_top)
    s += wv[j];
  }
  const bool renormalise = p.type != RL_ROUTER_SWITCH;
  for (uint j = 0u; j < K; ++j) wt[out0 + j] = renormalise ? wv[j] / s : wv[j];
}

void main() {
  if (gl_WorkGroupID.x != 0u) return;  // one workgroup; the whole group leaves together
  const uint t = gl_LocalInvocationID.x, N = p.N, C = p.C, choices = N * K;
  const uint R = (N + kThreads - 1u) / kThreads, n0 = min(t * R, N), n1 = min(n0 + R, N);

  // Phase 1.
  for (uint c = 0u; c < K * E; ++c) count[c * kThreads + t] = 0u;
  float zSum = 0.0, entropySum = 0.0;
  float imp[E];
  for (uint e = 0u; e < E; ++e) imp[e] = 0.0;
  for (uint n = n0; n < n1; ++n) gateRow(n, t, zSum, entropySum, imp);
  for (uint e = 0u; e < E; ++e) impPart[e * kThreads + t] = imp[e];
  partZ[t] = zSum;
  partEntropy[t] = entropySum;
  for (uint i = t; i < E * C; i += kThreads) slotAssign[i] = -1;
  memoryBarrierBuffer();
  barrier();

  // Phase 2.
  if (t < K * E) {
    uint running = 0u;
    for (uint u = 0u; u < kThreads; ++u) {
      const uint c = count[t * kThreads + u];
      count[t * kThreads + u] = running;
      running += c;
    }
    cellTotal[t] = running;
  }
  if (t < E) {
    float colSum = 0.0;
    for (uint u = 0u; u < kThreads; ++u) colSum += impPart[t * kThreads + u];
    impSum[t] = colSum;
  }
  barrier();

  // Phase 3: choice (n, j) of expert e takes position sum_{j' < j} total(j', e) + (cell prefix).
  uint invalid = 0u;
  for (uint n = n0; n < n1; ++n)
    for (uint j = 0u; j < K; ++j) {
      const uint a = n * K + j;
      const int e = idx[a];
      if (e < 0 || e >= int(E)) {  // no expert (NaN logits): dropped
        slot[a] = -1;
        ++invalid;
        continue;
      }
      const uint cell = j * E + uint(e);
      uint pos = count[cell * kThreads + t];
      count[cell * kThreads + t] = pos + 1u;
      for (uint r = 0u; r < j; ++r) pos += cellTotal[r * E + uint(e)];
      if (pos < C) {
        const uint s = uint(e) * C + pos;
        slotAssign[s] = int(a);
        slot[a] = int(s);
      } else {
        slot[a] = -1;
      }
    }
  float aux = 0.0, dropped = float(invalid);
  if (t < E) {
    uint total = 0u;
    for (uint j = 0u; j < K; ++j) total += cellTotal[j * E + t];
    const float l = float(total) / float(choices), im = impSum[t] / float(N);
    load[t] = l;
    importance[t] = im;
    aux = l * im;
    dropped += float(total > C ? total - C : 0u);  // exact below 2^24 choices
  }
  partAux[t] = aux;
  partDropped[t] = dropped;
  barrier();

  // Phase 4.
  if (t == 0u) {
    float a = 0.0, z = 0.0, en = 0.0, d = 0.0;
    for (uint i = 0u; i < kThreads; ++i) {
      a += partAux[i];
      z += partZ[i];
      en += partEntropy[i];
      d += partDropped[i];
    }
    scalars[0] = p.auxCoef * float(E) * a;
    scalars[1] = p.zCoef * z / float(N);
    scalars[2] = en / float(N);
    scalars[3] = d / float(choices);
  }
}
