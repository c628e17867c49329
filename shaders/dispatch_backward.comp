#version 450
// Dispatch backward, one invocation per token row (lavapipe pays per invocation, so each one does
// a whole row). Twin of DispatchBackward::runCpu (engine/ops/dispatch.cpp). N tokens, D features,
// k choices per token, S slots.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Dxe { float dxe[]; };
layout(std430, binding = 1) readonly buffer Slot { int slot[]; };
layout(std430, binding = 2) buffer Dx { float dx[]; };

layout(push_constant) uniform P {
  uint N, D, S, k, accumulate;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.N) return;
  const uint n = gl_GlobalInvocationID.x, out0 = n * p.D;
  if (p.accumulate == 0u)
    for (uint d = 0u; d < p.D; ++d) dx[out0 + d] = 0.0;
  for (uint j = 0u; j < p.k; ++j) {  // j ascending per element, as on the CPU
    const int s = slot[n * p.k + j];
    if (s < 0) continue;
    const uint in0 = uint(s) * p.D;
    for (uint d = 0u; d < p.D; ++d) dx[out0 + d] += dxe[in0 + d];
  }
}
