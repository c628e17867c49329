#version 450
// Expert-choice routing forward in one workgroup. Twin of ExpertChoiceForward::runCpu
// (engine/ops/token_route_expert_choice.h has the legend and the rules). N tokens, E experts
// (a specialisation constant, so a token's E scores live in registers), C tokens per expert,
// T temperature.
//
// Lane l owns the contiguous tokens [l R, l R + R), R = ceil(N / kThreads), and is the only one to
// write or read their scores, so only the cross-lane sums need barriers (shared memory, fixed order,
// no atomics):
//  1. scores: probs[n,:] = softmax(logits[n,:] / T) for the lane's tokens.
//  2. for every expert at once, bisection on the float bits of the scores (scores are >= 0, so bit
//     patterns order like values) for thr[e] = the C-th largest score: each step every lane counts
//     its tokens with bits >= mid, lane e adds the kThreads partial counts of expert e, and every
//     lane moves its own copy of (lo, hi) the same way. 31 steps bracket [0, +inf].
//  3. the take rule: a score above thr[e] is taken, and of the scores equal to it the first
//     C - #above in token order (lower token index wins, as on the CPU). Lane prefix sums of the
//     above / tied counts give each lane its first slot, then each lane writes its tokens' slots in
//     token order and their counts.
// Why not one invocation per expert walking all tokens: lavapipe (llvmpipe) ends every loop of an
// invocation once 65535 iterations have run in total (LP_MAX_TGSI_LOOP_ITERATIONS, shared by all
// loops), so a 33-pass walk over N = 2000 tokens silently stopped early. Here a lane runs about
// 31 (N / kThreads + kThreads) + 3 N / kThreads iterations: fine up to N ~ 55,000 (the op refuses
// larger N on CPU-class devices, see ExpertChoiceForward::forDevice).
#include "common.glsl"

layout(constant_id = 1) const uint E = 1u;

layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) buffer Probs { float probs[]; };
layout(std430, binding = 2) writeonly buffer SlotAssign { int slotAssign[]; };
layout(std430, binding = 3) writeonly buffer Slot { int slot[]; };
layout(std430, binding = 4) writeonly buffer Wt { float wt[]; };
layout(std430, binding = 5) writeonly buffer Count { int count[]; };

// Mirrors rl::ExpertChoiceParams.
layout(push_constant) uniform P {
  uint N, E, C;
  float temperature;
} p;

const uint kThreads = 32u;  // = ExpertChoiceForward::kThreads = local size
// 2 E kThreads words: 16 KiB at E = 64, the least any Vulkan device offers.
shared uint partA[E * kThreads];  // [e * kThreads + lane]: counts (bisection), then "above" counts
shared uint partT[E * kThreads];  // [e * kThreads + lane]: expert e's total count at lane 0
                                  // (bisection), then tied counts (phase 3)

void main() {
  if (gl_WorkGroupID.x != 0u) return;  // one workgroup; the whole group leaves together
  const uint lane = gl_LocalInvocationID.x;
  const uint N = p.N, C = p.C, R = (N + kThreads - 1u) / kThreads;
  const uint n0 = min(lane * R, N), n1 = min(n0 + R, N);

  // 1. Scores of the lane's tokens.
  for (uint n = n0; n < n1; ++n) {
    float x[E];
    float mx = -3.402823466e38;
    [[unroll]] for (uint e = 0u; e < E; ++e) {
      x[e] = logits[n * E + e] / p.temperature;
      mx = max(mx, x[e]);
    }
    float sum = 0.0;
    [[unroll]] for (uint e = 0u; e < E; ++e) {
      x[e] = exp(x[e] - mx);
      sum += x[e];
    }
    [[unroll]] for (uint e = 0u; e < E; ++e) probs[n * E + e] = x[e] / sum;
  }

  // 2. thr[e] = bits of expert e's C-th largest score; above[e] = scores strictly greater.
  uint lo[E], hi[E], above[E];
  [[unroll]] for (uint e = 0u; e < E; ++e) {
    lo[e] = 0u;            // count(bits >= lo) >= C
    hi[e] = 0x7F800001u;   // count(bits >= hi) < C (nothing lies above +inf)
    above[e] = 0u;         // = count(bits >= hi)
  }
  const bool select = C < N;  // else every token is taken
  for (uint step = 0u; select && step < 31u; ++step) {
    uint mid[E], cnt[E];
    [[unroll]] for (uint e = 0u; e < E; ++e) {
      mid[e] = lo[e] + (hi[e] - lo[e]) / 2u;
      cnt[e] = 0u;
    }
    for (uint n = n0; n < n1; ++n)
      [[unroll]] for (uint e = 0u; e < E; ++e) cnt[e] += floatBitsToUint(probs[n * E + e]) >= mid[e] ? 1u : 0u;
    [[unroll]] for (uint e = 0u; e < E; ++e) partA[e * kThreads + lane] = cnt[e];
    barrier();
    for (uint e = lane; e < E; e += kThreads) {
      uint s = 0u;
      for (uint l = 0u; l < kThreads; ++l) s += partA[e * kThreads + l];
      partT[e * kThreads] = s;
    }
    barrier();
    [[unroll]] for (uint e = 0u; e < E; ++e) {
      const uint t = partT[e * kThreads];
      if (hi[e] - lo[e] > 1u) {
        if (t >= C) {
          lo[e] = mid[e];
        } else {
          hi[e] = mid[e];
          above[e] = t;
        }
      }
    }
    barrier();  // everyone has read the totals before the next step's partials are written
  }

  // 3. Take rule and slots. thr = lo; with select false every score is "above" threshold -1.
  uint aboveBefore[E], tiesBefore[E];
  [[unroll]] for (uint e = 0u; e < E; ++e) {
    aboveBefore[e] = 0u;
    tiesBefore[e] = 0u;
  }
  for (uint n = n0; n < n1; ++n)
    [[unroll]] for (uint e = 0u; e < E; ++e) {
      const uint bits = floatBitsToUint(probs[n * E + e]);
      aboveBefore[e] += (!select || bits > lo[e]) ? 1u : 0u;
      tiesBefore[e] += (select && bits == lo[e]) ? 1u : 0u;
    }
  [[unroll]] for (uint e = 0u; e < E; ++e) {
    partA[e * kThreads + lane] = aboveBefore[e];
    partT[e * kThreads + lane] = tiesBefore[e];
  }
  barrier();
  for (uint e = lane; e < E; e += kThreads) {  // exclusive prefix sums over the lanes, in place
    uint a = 0u, t = 0u;
    for (uint l = 0u; l < kThreads; ++l) {
      const uint i = e * kThreads + l, na = partA[i], nt = partT[i];
      partA[i] = a;
      partT[i] = t;
      a += na;
      t += nt;
    }
  }
  barrier();
  [[unroll]] for (uint e = 0u; e < E; ++e) {
    aboveBefore[e] = partA[e * kThreads + lane];
    tiesBefore[e] = partT[e * kThreads + lane];
  }
  for (uint n = n0; n < n1; ++n) {
    int experts = 0;
    [[unroll]] for (uint e = 0u; e < E; ++e) {
      const uint i = n * E + e;
      const float s = probs[i];
      const uint bits = floatBitsToUint(s);
      const uint tiesNeeded = C - above[e];  // taken from the scores equal to thr
      const bool isAbove = !select || bits > lo[e], isTie = select && bits == lo[e];
      const bool take = isAbove || (isTie && tiesBefore[e] < tiesNeeded);
      const uint pos = aboveBefore[e] + min(tiesBefore[e], select ? tiesNeeded : 0u);
      if (take && pos < C) {
        slotAssign[e * C + pos] = int(i);  // = n E + e
        slot[i] = int(e * C + pos);
        wt[i] = s;
        ++experts;
      } else {
        slot[i] = -1;
        wt[i] = 0.0;
      }
      aboveBefore[e] += isAbove ? 1u : 0u;
      tiesBefore[e] += isTie ? 1u : 0u;
    }
    count[n] = experts;
  }
  // Slots past the last token (C > N) stay empty.
  for (uint i = lane; i < E * C; i += kThreads)
    if (i % C >= N) slotAssign[i] = -1;
}
