#version 450
// Mean pooling backward: dx[b,t,:] = (1/T) dy[b,:] (written). Twin of MeanPoolBackward::runCpu
// (engine/ops/mean_pool.h). Work item = one row b T + t of dx (one division per row: integer
// division is a per-lane loop on lavapipe, so not one per texel).
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer DY;  // [B, D/4] texels
layout(std430, binding = 1) writeonly buffer DX { vec4 dx[]; };  // [B T, D/4]

// Mirrors rl::MeanPoolParams.
layout(push_constant) uniform P {
  uint B, T, D;
} p;

void main() {
  const uint D4 = p.D / 4u, rows = p.B * p.T;
  const float invT = 1.0 / float(p.T);
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint row = gl_GlobalInvocationID.x; row < rows; row += stride) {
    const uint dy0 = (row / p.T) * D4;
    for (uint c = 0; c < D4; ++c) dx[row * D4 + c] = imageLoad(DY, int(dy0 + c)) * invT;
  }
}
