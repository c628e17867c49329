#version 450
// Combine forward, one invocation per token row (lavapipe pays per invocation, so each one does a
// whole row). Twin of CombineForward::runCpu (engine/ops/combine.cpp). N tokens, D features,
// k choices per token, S slots.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Oe { float oe[]; };
layout(std430, binding = 1) readonly buffer Slot { int slot[]; };
layout(std430, binding = 2) readonly buffer Wt { float wt[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P {
  uint N, D, k, S;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.N) return;
  const uint n = gl_GlobalInvocationID.x, out0 = n * p.D;
  // Four features at a time in registers, choices j ascending (as on the CPU).
  for (uint d0 = 0u; d0 < p.D; d0 += 4u) {
    vec4 sum = vec4(0.0);
    for (uint j = 0u; j < p.k; ++j) {
      const int s = slot[n * p.k + j];
      if (s < 0) continue;
      const float w = wt[n * p.k + j];
      const uint in0 = uint(s) * p.D + d0;
      for (uint c = 0u; c < 4u && d0 + c < p.D; ++c) sum[c] += w * oe[in0 + c];
    }
    for (uint c = 0u; c < 4u && d0 + c < p.D; ++c) y[out0 + d0 + c] = sum[c];
  }
}
