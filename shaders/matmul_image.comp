#version 450
// matmul, ImageTiled variant (CPU implementations such as lavapipe):
// C[M,N] (=|+=) At[K,M]^T · B[K,N], all row-major. Legend: M rows, N columns, K reduction.
// One invocation owns a 16x16 output tile held in registers. At and B are read-only rgba32f
// texel buffers (one imageLoad = 4 floats), k is unrolled by 2 with all loads before the FMAs,
// and there is no shared memory or barrier: on lavapipe those are per-lane loops and coroutine
// switches. Sizes are specialisation constants so the loops compile for the exact shape; the host
// guarantees M % 16 == 0, N % 16 == 0, K % 2 == 0 and K > 0.
#include "common.glsl"

layout(constant_id = 1) const uint M = 16;
layout(constant_id = 2) const uint N = 16;
layout(constant_id = 3) const uint K = 2;

layout(binding = 0, rgba32f) uniform readonly imageBuffer At;  // [K, M/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer B;   // [K, N/4] texels
layout(std430, binding = 2) buffer C { vec4 c[]; };            // [M, N/4]
layout(push_constant) uniform P {
  uint M;
  uint N;
  uint K;
  uint accumulate;
} p;

const uint TILES_N = N / 16;
const uint TILES = (M / 16) * TILES_N;
const uint AROW = M / 4;  // texels per At row
const uint BROW = N / 4;  // texels per B row

void main() {
  if (gl_GlobalInvocationID.x >= TILES) return;
  uint tile = gl_GlobalInvocationID.x;
  uint tm = tile / TILES_N, tn = tile % TILES_N;
  int a = int(tm * 4), b = int(tn * 4);  // texel offsets of this tile in a row of At / B

  vec4 acc[16][4];
  [[unroll]] for (int i = 0; i < 16; ++i)
    [[unroll]] for (int j = 0; j < 4; ++j) acc[i][j] = vec4(0.0);

  // Not unrolled: with K a small constant the compiler would otherwise unroll it fully and spend
  // seconds compiling a shader of hundreds of thousands of FMAs.
  [[dont_unroll]] for (uint k = 0; k < K; k += 2) {
    int ra = int(k * AROW) + a, rb = int(k * BROW) + b;
    vec4 a0[4], a1[4], b0[4], b1[4];
    [[unroll]] for (int j = 0; j < 4; ++j) {
      a0[j] = imageLoad(At, ra + j);
      a1[j] = imageLoad(At, ra + int(AROW) + j);
      b0[j] = imageLoad(B, rb + j);
      b1[j] = imageLoad(B, rb + int(BROW) + j);
    }
    [[unroll]] for (int i = 0; i < 16; ++i) {
      float x0 = a0[i / 4][i % 4], x1 = a1[i / 4][i % 4];
      [[unroll]] for (int j = 0; j < 4; ++j) acc[i][j] = fma(vec4(x1), b1[j], fma(vec4(x0), b0[j], acc[i][j]));
    }
  }

  uint row0 = tm * 16;
  [[unroll]] for (int i = 0; i < 16; ++i) {
    uint base = (row0 + i) * BROW + tn * 4;
    [[unroll]] for (int j = 0; j < 4; ++j) c[base + j] = (p.accumulate != 0u ? c[base + j] : vec4(0.0)) + acc[i][j];
  }
}
