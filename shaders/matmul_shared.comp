#version 450
// matmul, SharedTiled variant (real GPUs): C[M,N] (=|+=) At[K,M]^T · B[K,N], all row-major.
// Legend: M rows, N columns, K reduction. A 256-invocation workgroup (16x16) owns a 64x64 block of
// C; each invocation owns 4x4 outputs strided by 16 so neighbouring lanes read neighbouring
// shared-memory words. k advances in slices of 16 staged in shared memory; both operands are
// k-major, so the staging loads are coalesced. Any shape: loads and stores are bounds-checked.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer At { float at[]; };  // [K, M]
layout(std430, binding = 1) readonly buffer B { float b[]; };    // [K, N]
layout(std430, binding = 2) buffer C { float c[]; };             // [M, N]
layout(push_constant) uniform P {
  uint M;
  uint N;
  uint K;
  uint accumulate;
} p;

const uint BLOCK = 64, SLICE = 16, THREADS = 256;
shared float As[SLICE][BLOCK];
shared float Bs[SLICE][BLOCK];

void main() {
  // Whole-workgroup check (uniform), so every invocation that stays reaches every barrier.
  if (gl_WorkGroupID.y * BLOCK >= p.M || gl_WorkGroupID.x * BLOCK >= p.N) return;
  uint lid = gl_LocalInvocationID.x;
  uint tx = lid % 16, ty = lid / 16;
  uint m0 = gl_WorkGroupID.y * BLOCK, n0 = gl_WorkGroupID.x * BLOCK;

  float acc[4][4];
  [[unroll]] for (int i = 0; i < 4; ++i)
    [[unroll]] for (int j = 0; j < 4; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += SLICE) {
    [[unroll]] for (uint e = lid; e < SLICE * BLOCK; e += THREADS) {
      uint kk = e / BLOCK, col = e % BLOCK, gk = k0 + kk;
      As[kk][col] = (gk < p.K && m0 + col < p.M) ? at[gk * p.M + m0 + col] : 0.0;
      Bs[kk][col] = (gk < p.K && n0 + col < p.N) ? b[gk * p.N + n0 + col] : 0.0;
    }
    barrier();
    [[unroll]] for (uint kk = 0; kk < SLICE; ++kk) {
      float av[4], bv[4];
      [[unroll]] for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16 * i];
      [[unroll]] for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16 * j];
      [[unroll]] for (int i = 0; i < 4; ++i)
        [[unroll]] for (int j = 0; j < 4; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    barrier();
  }

  [[unroll]] for (int i = 0; i < 4; ++i) {
    uint m = m0 + ty + 16 * i;
    if (m >= p.M) continue;
    [[unroll]] for (int j = 0; j < 4; ++j) {
      uint n = n0 + tx + 16 * j;
      if (n >= p.N) continue;
      uint at_ = m * p.N + n;
      c[at_] = (p.accumulate != 0u ? c[at_] : 0.0) + acc[i][j];
    }
  }
}
