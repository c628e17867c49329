#version 450
// Token embedding backward: dtable[v,:] += Σ_{n : ids[n] = v} dy[n,:]. Twin of
// TokenEmbeddingBackward::runCpu (engine/ops/token_embedding.h).
// Work item = (VB consecutive token ids v0 .. v0+VB-1, BLOCK consecutive texels of the row),
// item = vblock blocks + block. It scans every id in ascending n (four per load through an ivec4
// view, then the scalar tail), loads the BLOCK dy texels of that row once and adds them to the
// accumulator of the token that matches, selecting zero for the others. Lavapipe executes both
// sides of a divergent branch anyway, so a dense select over a register tile of VB x BLOCK
// accumulators costs less than a branch per (token, row); each loaded texel serves VB tokens.
// No other item writes this part of dtable and the sums run over n in order: deterministic, and
// the same additions as the CPU (adding zero changes nothing). Tokens past V and texels past D/4
// (the last tiles) are computed on clamped loads and not written.
#include "common.glsl"

const uint VB = 8;     // = rl::kTokenEmbeddingTokens
const uint BLOCK = 4;  // = rl::kTokenEmbeddingBlock

layout(std430, binding = 0) readonly buffer Ids { int ids[]; };     // [N]
layout(std430, binding = 0) readonly buffer Ids4 { ivec4 ids4[]; };  // the same, 4 at a time
layout(binding = 1, rgba32f) uniform readonly imageBuffer DY;        // [N, D/4] texels
layout(std430, binding = 2) buffer DTable { vec4 dtable[]; };       // [V, D/4]

// Mirrors rl::TokenEmbeddingParams.
layout(push_constant) uniform P {
  uint N, V, D;
} p;

void addRow(const uint n, const int slot, const uint c0, const uint D4, inout vec4 acc[VB][BLOCK]) {
  vec4 t[BLOCK];
  [[unroll]] for (uint k = 0; k < BLOCK; ++k) t[k] = imageLoad(DY, int(n * D4 + min(c0 + k, D4 - 1u)));
  [[unroll]] for (uint j = 0; j < VB; ++j) {
    const bool hit = slot == int(j);
    [[unroll]] for (uint k = 0; k < BLOCK; ++k) acc[j][k] += hit ? t[k] : vec4(0.0);
  }
}

void main() {
  const uint D4 = p.D / 4u, blocks = (D4 + BLOCK - 1u) / BLOCK, items = ((p.V + VB - 1u) / VB) * blocks;
  const uint quads = p.N / 4u;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) {
    const uint v0 = (item / blocks) * VB, c0 = (item % blocks) * BLOCK;
    vec4 acc[VB][BLOCK];
    [[unroll]] for (uint j = 0; j < VB; ++j)
      [[unroll]] for (uint k = 0; k < BLOCK; ++k) acc[j][k] = vec4(0.0);
    // slot = id - v0: this item's token j = slot, or none when slot lies outside [0, VB).
    for (uint q = 0; q < quads; ++q) {
      const ivec4 slot = ids4[q] - int(v0);
      [[unroll]] for (uint k = 0; k < 4u; ++k)
        if (uint(slot[k]) < VB) addRow(4u * q + k, slot[k], c0, D4, acc);
    }
    for (uint n = 4u * quads; n < p.N; ++n) {
      const int slot = ids[n] - int(v0);
      if (uint(slot) < VB) addRow(n, slot, c0, D4, acc);
    }
    [[unroll]] for (uint j = 0; j < VB; ++j)
      [[unroll]] for (uint k = 0; k < BLOCK; ++k)
        if (v0 + j < p.V && c0 + k < D4) dtable[(v0 + j) * D4 + c0 + k] += acc[j][k];
  }
}
