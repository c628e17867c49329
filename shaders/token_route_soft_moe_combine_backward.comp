#version 450
// Soft MoE combine backward. Twin of SoftMoeCombineBackward::runCpu (engine/ops/token_route_soft_moe.h).
// Work items, grid-stride: [0, B J Q) = (sequence b, slot column j, features 16q .. 16q+15) of dys:
//   dys[row(b,j), 16q + c] = sum_t Cw[bT+t, j] dy[bT+t, 16q + c]   (t ascending)
// then [B J Q, B J Q + N) = token rows n of dlogits (written), through the softmax of Cw[n, :]:
//   g_j = <dy[n,:], ys[row(b,j),:]>, dlogits[n,j] = Cw[n,j] (g_j - <dy[n,:], y[n,:]>) / tau
// using sum_j Cw[n,j] g_j = <dy[n,:], sum_j Cw[n,j] ys[row(b,j),:]> = <dy[n,:], y[n,:]> (y from the
// forward), so a row takes one pass. dy[n,:] stays in registers (D/4 is a specialisation constant);
// dot products run over texels in ascending order.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer Dy;  // [N, D/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer Ys;  // [E B S, D/4]
layout(binding = 2, rgba32f) uniform readonly imageBuffer Y;   // [N, D/4]
layout(std430, binding = 3) readonly buffer Cw { float cw[]; };
layout(std430, binding = 4) writeonly buffer Dys { vec4 dys[]; };  // [E B S, D/4]
layout(std430, binding = 5) writeonly buffer Dlogits { float dlogits[]; };

#include "token_route_soft_moe.glsl"

layout(constant_id = 1) const uint D4 = 1u;  // = p.D / 4: a feature row in registers

void slotChunk(const uint item) {
  const uint J = smJ(), Q = smChunks();
  const uint q = item % Q, j = (item / Q) % J, b = item / (Q * J);
  const uint c0 = q * kChunk4;
  vec4 acc[kChunk4];
  [[unroll]] for (uint c = 0u; c < kChunk4; ++c) acc[c] = vec4(0.0);
  for (uint t = 0u; t < p.T; ++t) {
    const uint n = b * p.T + t;
    const float w = cw[n * J + j];
    [[unroll]] for (uint c = 0u; c < kChunk4; ++c)
      if (c0 + c < D4) acc[c] += w * imageLoad(Dy, int(n * D4 + c0 + c));
  }
  const uint out0 = smRow(b, j) * D4 + c0;
  [[unroll]] for (uint c = 0u; c < kChunk4; ++c)
    if (c0 + c < D4) dys[out0 + c] = acc[c];
}

void tokenRow(const uint n) {
  const uint J = smJ(), row = n * J, b = n / p.T;
  vec4 g[D4];  // dy[n,:] in registers: each slot row's texels are then the only loads
  float dyy = 0.0;
  [[unroll]] for (uint c = 0u; c < D4; ++c) {
    g[c] = imageLoad(Dy, int(n * D4 + c));
    dyy += dot(g[c], imageLoad(Y, int(n * D4 + c)));
  }
  for (uint j = 0u; j < J; ++j) {
    const uint r = smRow(b, j);
    float dot_g = 0.0;
    [[unroll]] for (uint c = 0u; c < D4; ++c) dot_g += dot(g[c], imageLoad(Ys, int(r * D4 + c)));
    dlogits[row + j] = cw[row + j] * (dot_g - dyy) / p.temperature;
  }
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
