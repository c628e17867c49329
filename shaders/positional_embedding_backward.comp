#version 450
// Learned positional embedding backward: dtable[t,:] += Σ_{n ≡ t mod T} dy[n,:]. Twin of
// PositionalEmbeddingBackward::runCpu (engine/ops/positional_embedding.h). Work item = one texel of
// dtable, item = t D4 + c: it alone sums its column block over n = t, t + T, ... (ascending), then
// adds the sum to dtable, so the result is deterministic.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer DY;  // [N, D/4] texels
layout(std430, binding = 1) buffer DTable { vec4 dtable[]; };    // [T, D/4]

// Mirrors rl::PositionalEmbeddingParams.
layout(push_constant) uniform P {
  uint N, T, D;
} p;

void main() {
  const uint D4 = p.D / 4u, items = p.T * D4;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) {
    const uint t = item / D4, c = item % D4;
    vec4 sum = vec4(0.0);
    for (uint n = t; n < p.N; n += p.T) sum += imageLoad(DY, int(n * D4 + c));
    dtable[item] += sum;
  }
}
