#version 450
// Dispatch backward, one invocation per (token, feature). Twin of DispatchBackward::runCpu
// (engine/ops/dispatch.cpp). N tokens, D features, k choices per token, S slots.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Dxe { float dxe[]; };
layout(std430, binding = 1) readonly buffer Slot { int slot[]; };
layout(std430, binding = 2) buffer Dx { float dx[]; };

layout(push_constant) uniform P {
  uint N, D, S, k, accumulate;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.N * p.D) return;
  uint i = gl_GlobalInvocationID.x, n = i / p.D, d = i % p.D;
  float sum = 0.0;
  for (uint j = 0u; j < p.k; ++j) {
    int s = slot[n * p.k + j];
    if (s >= 0) sum += dxe[uint(s) * p.D + d];
  }
  dx[i] = p.accumulate != 0u ? dx[i] + sum : sum;
}
