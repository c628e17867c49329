#version 450
// Combine backward into the expert outputs, one invocation per slot row (lavapipe pays per
// invocation, so each one does a whole row). Twin of CombineBackwardExperts::runCpu
// (engine/ops/combine.cpp). N tokens, D features, k choices, S slots. Empty slots are not written.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Dy { float dy[]; };
layout(std430, binding = 1) readonly buffer SlotAssign { int slotAssign[]; };
layout(std430, binding = 2) readonly buffer Wt { float wt[]; };
layout(std430, binding = 3) writeonly buffer Doe { float doe[]; };

layout(push_constant) uniform P {
  uint N, D, k, S;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.S) return;
  const uint s = gl_GlobalInvocationID.x;
  const int a = slotAssign[s];
  if (a < 0) return;
  const float w = wt[a];
  const uint in0 = (uint(a) / p.k) * p.D, out0 = s * p.D;
  for (uint d = 0u; d < p.D; ++d) doe[out0 + d] = w * dy[in0 + d];
}
