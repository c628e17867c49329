#version 450
// Dispatch forward, one invocation per (slot, feature). Twin of DispatchForward::runCpu
// (engine/ops/dispatch.cpp). N tokens, D features, k choices per token, S slots.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer SlotAssign { int slotAssign[]; };
layout(std430, binding = 2) writeonly buffer Xe { float xe[]; };

layout(push_constant) uniform P {
  uint N, D, S, k, accumulate;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.S * p.D) return;
  uint i = gl_GlobalInvocationID.x, s = i / p.D, d = i % p.D;
  int a = slotAssign[s];
  xe[i] = a < 0 ? 0.0 : x[(uint(a) / p.k) * p.D + d];
}
