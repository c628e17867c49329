#version 450
// Combine forward for D % 4 == 0: oe is read as an rgba32f texel buffer (one imageLoad = 4 features;
// lavapipe turns it into a gather, where a storage-buffer load is a per-lane loop) and y is written
// a vec4 at a time. One invocation per token row; per feature, choices j ascending (as on the CPU).
// Twin of CombineForward::runCpu (engine/ops/combine.cpp). N tokens, D features, k choices, S slots.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer Oe;  // [S, D/4] texels
layout(std430, binding = 1) readonly buffer Slot { int slot[]; };
layout(std430, binding = 2) readonly buffer Wt { float wt[]; };
layout(std430, binding = 3) writeonly buffer Y { vec4 y[]; };  // [N, D/4]

layout(push_constant) uniform P {
  uint N, D, k, S;
} p;

const uint CACHED = 4u;  // choices whose slot and weight are read once per row (k <= 4 in practice)

void main() {
  if (gl_GlobalInvocationID.x >= p.N) return;
  const uint n = gl_GlobalInvocationID.x, D4 = p.D / 4u;
  int slots[CACHED];
  float weights[CACHED];
  [[unroll]] for (uint j = 0u; j < CACHED; ++j) {
    slots[j] = j < p.k ? slot[n * p.k + j] : -1;
    weights[j] = j < p.k ? wt[n * p.k + j] : 0.0;
  }
  for (uint d4 = 0u; d4 < D4; ++d4) {
    vec4 sum = vec4(0.0);
    [[unroll]] for (uint j = 0u; j < CACHED; ++j)
      if (slots[j] >= 0) sum += weights[j] * imageLoad(Oe, slots[j] * int(D4) + int(d4));
    for (uint j = CACHED; j < p.k; ++j) {
      const int s = slot[n * p.k + j];
      if (s >= 0) sum += wt[n * p.k + j] * imageLoad(Oe, s * int(D4) + int(d4));
    }
    y[n * D4 + d4] = sum;
  }
}
