#version 450
// Combine backward into the gate weights, one invocation per (token, choice). Twin of
// CombineBackwardWeights::runCpu (engine/ops/combine.cpp). N tokens, D features, k choices, S slots.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Dy { float dy[]; };
layout(std430, binding = 1) readonly buffer Oe { float oe[]; };
layout(std430, binding = 2) readonly buffer Slot { int slot[]; };
layout(std430, binding = 3) writeonly buffer Dwt { float dwt[]; };

layout(push_constant) uniform P {
  uint N, D, k, S;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.N * p.k) return;
  uint c = gl_GlobalInvocationID.x, n = c / p.k;
  int s = slot[c];
  float dot = 0.0;
  if (s >= 0)
    for (uint d = 0u; d < p.D; ++d) dot += dy[n * p.D + d] * oe[uint(s) * p.D + d];
  dwt[c] = dot;
}
