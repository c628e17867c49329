#version 450
// Learned positional embedding forward: y[n,:] = x[n,:] + table[n mod T,:]. Twin of
// PositionalEmbeddingForward::runCpu (engine/ops/positional_embedding.h). Work item = one row n
// (one n mod T per row: integer division is a per-lane loop on lavapipe, so not one per texel);
// x and table are texel loads.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer X;      // [N, D/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer TABLE;  // [T, D/4] texels
layout(std430, binding = 2) writeonly buffer Y { vec4 y[]; };      // [N, D/4]

// Mirrors rl::PositionalEmbeddingParams.
layout(push_constant) uniform P {
  uint N, T, D;
} p;

void main() {
  const uint D4 = p.D / 4u;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint n = gl_GlobalInvocationID.x; n < p.N; n += stride) {
    const uint x0 = n * D4, t0 = (n % p.T) * D4;
    for (uint c = 0; c < D4; ++c) y[x0 + c] = imageLoad(X, int(x0 + c)) + imageLoad(TABLE, int(t0 + c));
  }
}
