#version 450
// Combine backward into the expert outputs, one invocation per (slot, feature). Twin of
// CombineBackwardExperts::runCpu (engine/ops/combine.cpp). N tokens, D features, k choices, S slots.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Dy { float dy[]; };
layout(std430, binding = 1) readonly buffer SlotAssign { int slotAssign[]; };
layout(std430, binding = 2) readonly buffer Wt { float wt[]; };
layout(std430, binding = 3) writeonly buffer Doe { float doe[]; };

layout(push_constant) uniform P {
  uint N, D, k, S;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.S * p.D) return;
  uint i = gl_GlobalInvocationID.x, s = i / p.D, d = i % p.D;
  int a = slotAssign[s];
  doe[i] = a < 0 ? 0.0 : wt[a] * dy[(uint(a) / p.k) * p.D + d];
}
