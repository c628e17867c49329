#version 450
// Soft MoE combine forward. Twin of SoftMoeCombineForward::runCpu (engine/ops/token_route_soft_moe.h).
// Work items, grid-stride: (token n, features 16q .. 16q+15):
//   y[n, 16q + c] = sum_j Cw[n, j] ys[row(b(n), j), 16q + c]   (j ascending)
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Ys { float ys[]; };
layout(std430, binding = 1) readonly buffer Cw { float cw[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

#include "token_route_soft_moe.glsl"

void main() {
  const uint J = smJ(), Q = smChunks(), items = smN() * Q;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < items; i += stride) {
    const uint n = i / Q, d0 = (i % Q) * kChunk, b = n / p.T;
    float acc[kChunk];
    [[unroll]] for (uint c = 0u; c < kChunk; ++c) acc[c] = 0.0;
    for (uint j = 0u; j < J; ++j) {
      const float w = cw[n * J + j];
      const uint in0 = smRow(b, j) * p.D + d0;
      [[unroll]] for (uint c = 0u; c < kChunk; ++c)
        if (d0 + c < p.D) acc[c] += w * ys[in0 + c];
    }
    [[unroll]] for (uint c = 0u; c < kChunk; ++c)
      if (d0 + c < p.D) y[n * p.D + d0 + c] = acc[c];
  }
}
