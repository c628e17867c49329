#version 450
// Soft MoE dispatch backward. Twin of SoftMoeDispatchBackward::runCpu (engine/ops/token_route_soft_moe.h).
// Work items, grid-stride: [0, B J) = (sequence b, slot column j): the column's dlogits through the
// softmax over the sequence's tokens (= or += by accumulateDlogits), t ascending:
//   h_t = <dxs[row(b,j),:], x[bT+t,:]>, dlogits[bT+t, j] (+)= Dw[bT+t,j] (h_t - <dxs[row(b,j),:], xs[row(b,j),:]>) / tau
//   using sum_t Dw[bT+t,j] h_t = <dxs[row,:], sum_t Dw[bT+t,j] x[bT+t,:]> = <dxs[row,:], xs[row,:]>
//   (xs from the forward), so a column takes one pass with dxs[row,:] in registers (D/4 is a
//   specialisation constant).
// then [B J, B J + N Q) = (token n, features 16q .. 16q+15) of dx (= or += by accumulateDx):
//   dx[n, 16q + c] (+)= sum_j Dw[n,j] dxs[row(b(n),j), 16q + c]   (j ascending)
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer Dxs;  // [E B S, D/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer X;    // [N, D/4]
layout(binding = 2, rgba32f) uniform readonly imageBuffer Xs;   // [E B S, D/4]
layout(std430, binding = 3) readonly buffer Dw { float dw[]; };
layout(std430, binding = 4) buffer Dx { vec4 dx[]; };  // [N, D/4]
layout(std430, binding = 5) buffer Dlogits { float dlogits[]; };

#include "token_route_soft_moe.glsl"

layout(constant_id = 1) const uint D4 = 1u;  // = p.D / 4: a feature row in registers

void column(const uint item) {
  const uint J = smJ(), j = item % J, b = item / J, r = smRow(b, j);
  vec4 g[D4];  // dxs[r,:] in registers: each token's texels are then the only loads
  float dxsXs = 0.0;
  [[unroll]] for (uint c = 0u; c < D4; ++c) {
    g[c] = imageLoad(Dxs, int(r * D4 + c));
    dxsXs += dot(g[c], imageLoad(Xs, int(r * D4 + c)));
  }
  for (uint t = 0u; t < p.T; ++t) {
    const uint n = b * p.T + t, i = n * J + j;
    float h = 0.0;
    [[unroll]] for (uint c = 0u; c < D4; ++c) h += dot(g[c], imageLoad(X, int(n * D4 + c)));
    const float v = dw[i] * (h - dxsXs) / p.temperature;
    dlogits[i] = p.accumulateDlogits != 0u ? dlogits[i] + v : v;
  }
}

void tokenChunk(const uint item) {
  const uint J = smJ(), Q = smChunks();
  const uint n = item / Q, c0 = (item % Q) * kChunk4, b = n / p.T;
  vec4 acc[kChunk4];
  [[unroll]] for (uint c = 0u; c < kChunk4; ++c) acc[c] = vec4(0.0);
  for (uint j = 0u; j < J; ++j) {
    const float w = dw[n * J + j];
    const uint in0 = smRow(b, j) * D4 + c0;
    [[unroll]] for (uint c = 0u; c < kChunk4; ++c)
      if (c0 + c < D4) acc[c] += w * imageLoad(Dxs, int(in0 + c));
  }
  [[unroll]] for (uint c = 0u; c < kChunk4; ++c)
    if (c0 + c < D4) {
      const uint o = n * D4 + c0 + c;
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
