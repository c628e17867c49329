#version 450
// Soft MoE combine backward. Twin of SoftMoeCombineBackward::runCpu (engine/ops/token_route_soft_moe.h).
// Work items, grid-stride: [0, B J Q) = (sequence b, slot column j, features 16q .. 16q+15) of dys:
//   dys[row(b,j), 16q + c] = sum_t Cw[bT+t, j] dy[bT+t, 16q + c]   (t ascending)
// then [B J Q, B J Q + N) = token rows n of dlogits (written), through the softmax of Cw[n, :]:
//   g_j = <dy[n,:], ys[row(b,j),:]> (stored in dlogits, then read back by the same invocation),
//   dlogits[n,j] = Cw[n,j] (g_j - sum_j' Cw[n,j'] g_j') / tau
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Dy { float dy[]; };
layout(std430, binding = 1) readonly buffer Ys { float ys[]; };
layout(std430, binding = 2) readonly buffer Cw { float cw[]; };
layout(std430, binding = 3) writeonly buffer Dys { float dys[]; };
layout(std430, binding = 4) buffer Dlogits { float dlogits[]; };

#include "token_route_soft_moe.glsl"

void slotChunk(const uint item) {
  const uint J = smJ(), Q = smChunks();
  const uint q = item % Q, j = (item / Q) % J, b = item / (Q * J);
  const uint d0 = q * kChunk;
  float acc[kChunk];
  [[unroll]] for (uint c = 0u; c < kChunk; ++c) acc[c] = 0.0;
  for (uint t = 0u; t < p.T; ++t) {
    const uint n = b * p.T + t;
    const float w = cw[n * J + j];
    [[unroll]] for (uint c = 0u; c < kChunk; ++c)
      if (d0 + c < p.D) acc[c] += w * dy[n * p.D + d0 + c];
  }
  const uint out0 = smRow(b, j) * p.D + d0;
  [[unroll]] for (uint c = 0u; c < kChunk; ++c)
    if (d0 + c < p.D) dys[out0 + c] = acc[c];
}

// <dy[n,:], ys[r,:]>, d ascending, four at a time.
float dotTokenSlot(const uint n, const uint r) {
  const uint a = n * p.D, s = r * p.D;
  float sum = 0.0;
  uint k = 0u;
  for (; k + 4u <= p.D; k += 4u) {
    sum += dy[a + k] * ys[s + k];
    sum += dy[a + k + 1u] * ys[s + k + 1u];
    sum += dy[a + k + 2u] * ys[s + k + 2u];
    sum += dy[a + k + 3u] * ys[s + k + 3u];
  }
  for (; k < p.D; ++k) sum += dy[a + k] * ys[s + k];
  return sum;
}

void tokenRow(const uint n) {
  const uint J = smJ(), row = n * J, b = n / p.T;
  float cg = 0.0;
  for (uint j = 0u; j < J; ++j) {
    const float g = dotTokenSlot(n, smRow(b, j));
    dlogits[row + j] = g;
    cg += cw[row + j] * g;
  }
  for (uint j = 0u; j < J; ++j) dlogits[row + j] = cw[row + j] * (dlogits[row + j] - cg) / p.temperature;
}

void main() {
  const uint slotItems = p.B * smJ() * smChunks(), items = slotItems + smN();
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < items; i += stride) {
    if (i < slotItems)
      slotChunk(i);
    else
      tokenRow(i - slotItems);
  }
}
