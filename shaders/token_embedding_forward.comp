#version 450
// Token embedding forward: y[n,:] = table[ids[n],:], a zero row for an id outside [0, V). Twin of
// TokenEmbeddingForward::runCpu (engine/ops/token_embedding.h). Work item = one row n: one id load,
// then D/4 texel loads of its table row.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Ids { int ids[]; };           // [N]
layout(binding = 1, rgba32f) uniform readonly imageBuffer TABLE;           // [V, D/4] texels
layout(std430, binding = 2) writeonly buffer Y { vec4 y[]; };             // [N, D/4]

// Mirrors rl::TokenEmbeddingParams.
layout(push_constant) uniform P {
  uint N, V, D;
} p;

void main() {
  const uint D4 = p.D / 4u;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint n = gl_GlobalInvocationID.x; n < p.N; n += stride) {
    const int id = ids[n];
    const uint y0 = n * D4;
    if (id >= 0 && uint(id) < p.V) {
      const int t0 = id * int(D4);
      for (uint c = 0; c < D4; ++c) y[y0 + c] = imageLoad(TABLE, t0 + int(c));
    } else {
      for (uint c = 0; c < D4; ++c) y[y0 + c] = vec4(0.0);
    }
  }
}
