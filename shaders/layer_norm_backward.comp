#version 450
// Layer norm backward, one dispatch. Twin of LayerNormBackward::runCpu (engine/ops/layer_norm.h,
// which has the formulas). Work items:
//   [0, D4)       texel c of dgamma and dbeta: sums dy xhat and dy over the rows (n ascending),
//                 then adds them (parameter gradients accumulate). First, so these long items
//                 start first. mean and rstd are loaded four rows at a time through vec4 views
//                 (a storage-buffer load is a per-lane loop on lavapipe), the last N mod 4 singly.
//   [D4, D4 + N)  row n of dx: one pass for a_n and b_n, one to write dx (written, or added to
//                 with p.accumulate).
// xhat = (x - mean) rstd is recomputed from the saved statistics; every output element has one
// writer, so the result is deterministic.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer X;      // [N, D/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer GAMMA;  // [D/4] texels
layout(std430, binding = 2) readonly buffer Mean { float mean[]; };  // [N]
layout(std430, binding = 3) readonly buffer Rstd { float rstd[]; };  // [N]
layout(std430, binding = 2) readonly buffer Mean4 { vec4 mean4[]; };  // the same, 4 rows at a time
layout(std430, binding = 3) readonly buffer Rstd4 { vec4 rstd4[]; };
layout(binding = 4, rgba32f) uniform readonly imageBuffer DY;     // [N, D/4] texels
layout(std430, binding = 5) buffer DX { vec4 dx[]; };              // [N, D/4]
layout(std430, binding = 6) buffer DGamma { vec4 dgamma[]; };     // [D/4]
layout(std430, binding = 7) buffer DBeta { vec4 dbeta[]; };       // [D/4]

// Mirrors rl::LayerNormParams.
layout(push_constant) uniform P {
  uint N, D;
  float eps;
  uint accumulate;  // 1: dx += instead of =
} p;

float hsum(const vec4 v) { return (v.x + v.y) + (v.z + v.w); }

void columnTexel(const uint c, const uint D4) {
  vec4 sg = vec4(0.0), sb = vec4(0.0);
  const uint quads = p.N / 4u;
  for (uint q = 0; q < quads; ++q) {
    const vec4 mu = mean4[q], r = rstd4[q];  // one storage load per 4 rows
    [[unroll]] for (uint k = 0; k < 4u; ++k) {
      const int i = int((4u * q + k) * D4 + c);
      const vec4 dy = imageLoad(DY, i);
      sg += dy * ((imageLoad(X, i) - mu[k]) * r[k]);
      sb += dy;
    }
  }
  for (uint n = 4u * quads; n < p.N; ++n) {
    const int i = int(n * D4 + c);
    const vec4 dy = imageLoad(DY, i);
    sg += dy * ((imageLoad(X, i) - mean[n]) * rstd[n]);
    sb += dy;
  }
  dgamma[c] += sg;
  dbeta[c] += sb;
}

void row(const uint n, const uint D4) {
  const int x0 = int(n * D4);
  const float mu = mean[n], r = rstd[n];
  vec4 sa = vec4(0.0), sbv = vec4(0.0);
  for (uint c = 0; c < D4; ++c) {
    const vec4 xhat = (imageLoad(X, x0 + int(c)) - mu) * r;
    const vec4 g = imageLoad(DY, x0 + int(c)) * imageLoad(GAMMA, int(c));
    sa += g;
    sbv += g * xhat;
  }
  const float a = hsum(sa) / float(p.D), b = hsum(sbv) / float(p.D);
  for (uint c = 0; c < D4; ++c) {
    const vec4 xhat = (imageLoad(X, x0 + int(c)) - mu) * r;
    const vec4 g = imageLoad(DY, x0 + int(c)) * imageLoad(GAMMA, int(c));
    const uint i = n * D4 + c;
    dx[i] = (p.accumulate != 0u ? dx[i] : vec4(0.0)) + r * (g - a - xhat * b);
  }
}

void main() {
  const uint D4 = p.D / 4u, items = D4 + p.N;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) {
    if (item < D4)
      columnTexel(item, D4);
    else
      row(item - D4, D4);
  }
}
