#version 450
// Dispatch forward, whole slot rows per invocation (lavapipe pays per invocation, so each one does a
// whole row). Twin of DispatchForward::runCpu (engine/ops/dispatch.cpp). N tokens, D features,
// k choices per token, S slots.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer SlotAssign { int slotAssign[]; };
layout(std430, binding = 2) writeonly buffer Xe { float xe[]; };

layout(push_constant) uniform P {
  uint N, D, S, k, accumulate;
} p;

void slotRow(const uint s) {
  const uint out0 = s * p.D;
  const int a = slotAssign[s];
  if (a < 0) {
    for (uint d = 0u; d < p.D; ++d) xe[out0 + d] = 0.0;
    return;
  }
  const uint in0 = (uint(a) / p.k) * p.D;
  for (uint d = 0u; d < p.D; ++d) xe[out0 + d] = x[in0 + d];
}

// Invocations stride over the slots, so the grid may be smaller than S (lavapipe pays per workgroup).
void main() {
  if (gl_GlobalInvocationID.x >= p.S) return;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint s = gl_GlobalInvocationID.x; s < p.S; s += stride) slotRow(s);
}
