#version 450
// Combine forward, one invocation per (token, feature). Twin of CombineForward::runCpu
// (engine/ops/combine.cpp). N tokens, D features, k choices per token, S slots.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Oe { float oe[]; };
layout(std430, binding = 1) readonly buffer Slot { int slot[]; };
layout(std430, binding = 2) readonly buffer Wt { float wt[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

layout(push_constant) uniform P {
  uint N, D, k, S;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.N * p.D) return;
  uint i = gl_GlobalInvocationID.x, n = i / p.D, d = i % p.D;
  float sum = 0.0;
  for (uint j = 0u; j < p.k; ++j) {
    int s = slot[n * p.k + j];
    if (s >= 0) sum += wt[n * p.k + j] * oe[uint(s) * p.D + d];
  }
  y[i] = sum;
}
