#version 450
// Expert-choice routing backward: the gate-weight gradient through the per-token softmax, the
// selection held constant. Twin of ExpertChoiceBackward::runCpu (engine/ops/token_route_expert_choice.h).
// One token row per work item, grid-stride; sums over experts in ascending order.
//   g[e] = slot[n,e] >= 0 ? dwt[n,e] : 0;  dlogits[n,e] = p[n,e] (g[e] - sum_f p[n,f] g[f]) / T
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Dwt { float dwt[]; };
layout(std430, binding = 1) readonly buffer Probs { float probs[]; };
layout(std430, binding = 2) readonly buffer Slot { int slot[]; };
layout(std430, binding = 3) writeonly buffer Dlogits { float dlogits[]; };

// Mirrors rl::ExpertChoiceParams.
layout(push_constant) uniform P {
  uint N, E, C;
  float temperature;
} p;

float gradOfWeight(uint i) { return slot[i] >= 0 ? dwt[i] : 0.0; }

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint n = gl_GlobalInvocationID.x; n < p.N; n += stride) {
    const uint row = n * p.E;
    float pg = 0.0;
    for (uint e = 0u; e < p.E; ++e) pg += probs[row + e] * gradOfWeight(row + e);
    for (uint e = 0u; e < p.E; ++e) dlogits[row + e] = probs[row + e] * (gradOfWeight(row + e) - pg) / p.temperature;
  }
}
