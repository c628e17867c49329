#version 450
// Soft MoE combine forward. Twin of SoftMoeCombineForward::runCpu (engine/ops/token_route_soft_moe.h).
// Work items, grid-stride: (token n, features 16q .. 16q+15):
//   y[n, 16q + c] = sum_j Cw[n, j] ys[row(b(n), j), 16q + c]   (j ascending)
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer Ys;  // [E B S, D/4] texels
layout(std430, binding = 1) readonly buffer Cw { float cw[]; };
layout(std430, binding = 2) writeonly buffer Y { vec4 y[]; };  // [N, D/4]

#include "token_route_soft_moe.glsl"

void main() {
  const uint J = smJ(), Q = smChunks(), D4 = smD4(), items = smN() * Q;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < items; i += stride) {
    const uint n = i / Q, c0 = (i % Q) * kChunk4, b = n / p.T;
    vec4 acc[kChunk4];
    [[unroll]] for (uint c = 0u; c < kChunk4; ++c) acc[c] = vec4(0.0);
    for (uint j = 0u; j < J; ++j) {
      const float w = cw[n * J + j];
      const uint in0 = smRow(b, j) * D4 + c0;
      [[unroll]] for (uint c = 0u; c < kChunk4; ++c)
        if (c0 + c < D4) acc[c] += w * imageLoad(Ys, int(in0 + c));
    }
    [[unroll]] for (uint c = 0u; c < kChunk4; ++c)
      if (c0 + c < D4) y[n * D4 + c0 + c] = acc[c];
  }
}
