#version 450
// Soft MoE dispatch backward. Twin of SoftMoeDispatchBackward::runCpu (engine/ops/token_route_soft_moe.h).
// Work items, grid-stride: [0, B J) = (sequence b, slot column j): the column's dlogits through the
// softmax over the sequence's tokens (= or += by accumulateDlogits), t ascending:
//   h_t = <dxs[row(b,j),:], x[bT+t,:]>, dlogits[bT+t, j] (+)= Dw[bT+t,j] (h_t - sum_t' Dw[bT+t',j] h_t') / tau
//   (h_t is recomputed in the second pass rather than stored: dlogits holds the combine part)
// then [B J, B J + N Q) = (token n, features 16q .. 16q+15) of dx (= or += by accumulateDx):
//   dx[n, 16q + c] (+)= sum_j Dw[n,j] dxs[row(b(n),j), 16q + c]   (j ascending)
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Dxs { float dxs[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Dw { float dw[]; };
layout(std430, binding = 3) buffer Dx { float dx[]; };
layout(std430, binding = 4) buffer Dlogits { float dlogits[]; };

#include "token_route_soft_moe.glsl"

// <dxs[r,:], x[n,:]>, d ascending, four at a time.
float dotSlotToken(const uint r, const uint n) {
  const uint s = r * p.D, a = n * p.D;
  float sum = 0.0;
  uint k = 0u;
  for (; k + 4u <= p.D; k += 4u) {
    sum += dxs[s + k] * x[a + k];
    sum += dxs[s + k + 1u] * x[a + k + 1u];
    sum += dxs[s + k + 2u] * x[a + k + 2u];
    sum += dxs[s + k + 3u] * x[a + k + 3u];
  }
  for (; k < p.D; ++k) sum += dxs[s + k] * x[a + k];
  return sum;
}

void column(const uint item) {
  const uint J = smJ(), j = item % J, b = item / J, r = smRow(b, j);
  float wh = 0.0;
  for (uint t = 0u; t < p.T; ++t) {
    const uint n = b * p.T + t;
    wh += dw[n * J + j] * dotSlotToken(r, n);
  }
  for (uint t = 0u; t < p.T; ++t) {
    const uint n = b * p.T + t, i = n * J + j;
    const float v = dw[i] * (dotSlotToken(r, n) - wh) / p.temperature;
    dlogits[i] = p.accumulateDlogits != 0u ? dlogits[i] + v : v;
  }
}

void tokenChunk(const uint item) {
  const uint J = smJ(), Q = smChunks();
  const uint n = item / Q, d0 = (item % Q) * kChunk, b = n / p.T;
  float acc[kChunk];
  [[unroll]] for (uint c = 0u; c < kChunk; ++c) acc[c] = 0.0;
  for (uint j = 0u; j < J; ++j) {
    const float w = dw[n * J + j];
    const uint in0 = smRow(b, j) * p.D + d0;
    [[unroll]] for (uint c = 0u; c < kChunk; ++c)
      if (d0 + c < p.D) acc[c] += w * dxs[in0 + c];
  }
  [[unroll]] for (uint c = 0u; c < kChunk; ++c)
    if (d0 + c < p.D) {
      const uint o = n * p.D + d0 + c;
      dx[o] = p.accumulateDx != 0u ? dx[o] + acc[c] : acc[c];
    }
}

void main() {
  const uint columns = p.B * smJ(), items = columns + smN() * smChunks();
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < items; i += stride) {
    if (i < columns)
      column(i);
    else
      tokenChunk(i - columns);
  }
}
