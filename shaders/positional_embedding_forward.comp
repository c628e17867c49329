#version 450
// Learned positional embedding forward: y[n,:] = x[n,:] + table[n mod T,:]. Twin of
// PositionalEmbeddingForward::runCpu (engine/ops/positional_embedding.h). Work item = one texel
// (4 columns) of y, item = n D4 + c; x and table are texel loads.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer X;      // [N, D/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer TABLE;  // [T, D/4] texels
layout(std430, binding = 2) writeonly buffer Y { vec4 y[]; };      // [N, D/4]

// Mirrors rl::PositionalEmbeddingParams.
layout(push_constant) uniform P {
  uint N, T, D;
} p;

void main() {
  const uint D4 = p.D / 4u, items = p.N * D4;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) {
    const uint n = item / D4, c = item % D4;
    y[item] = imageLoad(X, int(item)) + imageLoad(TABLE, int((n % p.T) * D4 + c));
  }
}
