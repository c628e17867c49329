#version 450
// Mean pooling forward: y[b,:] = (1/T) Σ_t x[b,t,:]. Twin of MeanPoolForward::runCpu
// (engine/ops/mean_pool.h). Work item = one texel (4 columns) of y, item = b D4 + c; the sum runs
// over t ascending (texel loads of x), then is scaled once, as on the CPU.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer X;  // [B T, D/4] texels
layout(std430, binding = 1) writeonly buffer Y { vec4 y[]; };   // [B, D/4]

// Mirrors rl::MeanPoolParams.
layout(push_constant) uniform P {
  uint B, T, D;
} p;

void main() {
  const uint D4 = p.D / 4u, items = p.B * D4;
  const float invT = 1.0 / float(p.T);
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) {
    const uint b = item / D4, c = item % D4;
    const int x0 = int(b * p.T * D4 + c);
    vec4 sum = vec4(0.0);
    for (uint t = 0; t < p.T; ++t) sum += imageLoad(X, x0 + int(t * D4));
    y[item] = sum * invT;
  }
}
