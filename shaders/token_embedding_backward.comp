#version 450
// Token embedding backward: dtable[v,:] += Σ_{n : ids[n] = v} dy[n,:]. Twin of
// TokenEmbeddingBackward::runCpu (engine/ops/token_embedding.h). Work item = (v, block of BLOCK
// texels), item = v blocks + block: it scans every id in ascending n (four per load through an
// ivec4 view, then the scalar tail), sums the matching dy texels and adds the sums to its part of
// dtable, which no other item writes: deterministic, no atomics. The last block of a row may be
// partial: its extra lanes load a clamped texel and write nothing.
#include "common.glsl"

const uint BLOCK = 4;  // = rl::kTokenEmbeddingBlock

layout(std430, binding = 0) readonly buffer Ids { int ids[]; };     // [N]
layout(std430, binding = 0) readonly buffer Ids4 { ivec4 ids4[]; };  // the same, 4 at a time
layout(binding = 1, rgba32f) uniform readonly imageBuffer DY;        // [N, D/4] texels
layout(std430, binding = 2) buffer DTable { vec4 dtable[]; };       // [V, D/4]

// Mirrors rl::TokenEmbeddingParams.
layout(push_constant) uniform P {
  uint N, V, D;
} p;

void addRow(const uint n, const uint c0, const uint D4, inout vec4 acc[BLOCK]) {
  [[unroll]] for (uint k = 0; k < BLOCK; ++k) acc[k] += imageLoad(DY, int(n * D4 + min(c0 + k, D4 - 1u)));
}

void main() {
  const uint D4 = p.D / 4u, blocks = (D4 + BLOCK - 1u) / BLOCK, items = p.V * blocks;
  const uint quads = p.N / 4u;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) {
    const int v = int(item / blocks);
    const uint c0 = (item % blocks) * BLOCK;
    vec4 acc[BLOCK];
    [[unroll]] for (uint k = 0; k < BLOCK; ++k) acc[k] = vec4(0.0);
    for (uint q = 0; q < quads; ++q) {
      const ivec4 id = ids4[q];
      [[unroll]] for (uint k = 0; k < 4u; ++k)
        if (id[k] == v) addRow(4u * q + k, c0, D4, acc);
    }
    for (uint n = 4u * quads; n < p.N; ++n)
      if (ids[n] == v) addRow(n, c0, D4, acc);
    [[unroll]] for (uint k = 0; k < BLOCK; ++k)
      if (c0 + k < D4) dtable[uint(v) * D4 + c0 + k] += acc[k];
  }
}
