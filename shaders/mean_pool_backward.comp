#version 450
// Mean pooling backward: dx[b,t,:] = (1/T) dy[b,:] (written). Twin of MeanPoolBackward::runCpu
// (engine/ops/mean_pool.h). Work item = one texel of dx, item = (b T + t) D4 + c.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer DY;  // [B, D/4] texels
layout(std430, binding = 1) writeonly buffer DX { vec4 dx[]; };  // [B T, D/4]

// Mirrors rl::MeanPoolParams.
layout(push_constant) uniform P {
  uint B, T, D;
} p;

void main() {
  const uint D4 = p.D / 4u, items = p.B * p.T * D4;
  const float invT = 1.0 / float(p.T);
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) {
    const uint c = item % D4, b = item / (p.T * D4);
    dx[item] = imageLoad(DY, int(b * D4 + c)) * invT;
  }
}
