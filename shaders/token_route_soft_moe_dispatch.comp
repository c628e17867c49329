#version 450
// Soft MoE dispatch forward. Twin of SoftMoeDispatchForward::runCpu (engine/ops/token_route_soft_moe.h).
// Work items, grid-stride: [0, B J Q) = (sequence b, slot column j, features 16q .. 16q+15) of xs:
//   Dw[., j] = softmax over the sequence's T tokens of logits[., j] / tau (chunk 0 also writes it),
//   xs[row(b,j), 16q + c] = sum_t Dw[bT+t, j] x[bT+t, 16q + c]   (t ascending)
// then [B J Q, B J Q + N) = token rows n: Cw[n, :] = softmax over the J slots of logits[n, :] / tau.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(binding = 1, rgba32f) uniform readonly imageBuffer X;  // [N, D/4] texels
layout(std430, binding = 2) writeonly buffer Dw { float dw[]; };
layout(std430, binding = 3) writeonly buffer Cw { float cw[]; };
layout(std430, binding = 4) writeonly buffer Xs { vec4 xs[]; };  // [E B S, D/4]

#include "token_route_soft_moe.glsl"

void slotChunk(const uint item) {
  const uint J = smJ(), Q = smChunks(), D4 = smD4();
  const uint q = item % Q, j = (item / Q) % J, b = item / (Q * J);
  const uint first = b * p.T, c0 = q * kChunk4;
  float m = -3.402823466e38;
  for (uint t = 0u; t < p.T; ++t) m = max(m, logits[(first + t) * J + j] / p.temperature);
  float sum = 0.0;
  for (uint t = 0u; t < p.T; ++t) sum += exp(logits[(first + t) * J + j] / p.temperature - m);
  vec4 acc[kChunk4];
  [[unroll]] for (uint c = 0u; c < kChunk4; ++c) acc[c] = vec4(0.0);
  for (uint t = 0u; t < p.T; ++t) {
    const uint n = first + t;
    const float w = exp(logits[n * J + j] / p.temperature - m) / sum;
    if (q == 0u) dw[n * J + j] = w;
    [[unroll]] for (uint c = 0u; c < kChunk4; ++c)
      if (c0 + c < D4) acc[c] += w * imageLoad(X, int(n * D4 + c0 + c));
  }
  const uint out0 = smRow(b, j) * D4 + c0;
  [[unroll]] for (uint c = 0u; c < kChunk4; ++c)
    if (c0 + c < D4) xs[out0 + c] = acc[c];
}

void tokenRow(const uint n) {
  const uint J = smJ(), row = n * J;
  float m = -3.402823466e38;
  for (uint j = 0u; j < J; ++j) m = max(m, logits[row + j] / p.temperature);
  float sum = 0.0;
  for (uint j = 0u; j < J; ++j) sum += exp(logits[row + j] / p.temperature - m);
  for (uint j = 0u; j < J; ++j) cw[row + j] = exp(logits[row + j] / p.temperature - m) / sum;
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
