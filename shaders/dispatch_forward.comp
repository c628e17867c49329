#version 450
// Dispatch forward, one invocation per slot row (lavapipe pays per invocation, so each one does a
// whole row). Twin of DispatchForward::runCpu (engine/ops/dispatch.cpp). N tokens, D features,
// k choices per token, S slots.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer SlotAssign { int slotAssign[]; };
layout(std430, binding = 2) writeonly buffer Xe { float xe[]; };

layout(push_constant) uniform P {
  uint N, D, S, k, accumulate;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.S) return;
  const uint s = gl_GlobalInvocationID.x, out0 = s * p.D;
  const int a = slotAssign[s];
  if (a < 0) {
    for (uint d = 0u; d < p.D; ++d) xe[out0 + d] = 0.0;
    return;
  }
  const uint in0 = (uint(a) / p.k) * p.D;
  for (uint d = 0u; d < p.D; ++d) xe[out0 + d] = x[in0 + d];
}
