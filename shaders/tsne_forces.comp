#version 450
// t-SNE forces, exact: attraction over the sparse P and repulsion over all pairs, TILE points per
// invocation, all j in ascending order (deterministic, no atomics). (engine/tsne/tsne_ops.h)
// Lavapipe style: y read as rgba32f texels (two points per load) shared by TILE register rows.
#include "common.glsl"

layout(constant_id = 1) const uint TILE = 8;

layout(binding = 0, rgba32f) uniform readonly imageBuffer Y;  // [Np / 2] texels: (x0, y0, x1, y1)
layout(std430, binding = 1) readonly buffer RowStart { uint rowStart[]; };
layout(std430, binding = 2) readonly buffer Col { uint col[]; };
layout(std430, binding = 3) readonly buffer PVal { float pval[]; };
layout(std430, binding = 4) writeonly buffer Forces { vec4 forces[]; };  // (attraction, repulsion)
layout(std430, binding = 5) writeonly buffer Sums { vec2 sums[]; };      // (z_i, kl_i)

// Mirrors rl::tsne::TsneForcesParams.
layout(push_constant) uniform P { uint n; uint texels; } p;

vec2 point(uint j) {
  const vec4 t = imageLoad(Y, int(j >> 1));
  return (j & 1u) == 0u ? t.xy : t.zw;
}

void main() {
  const uint i0 = gl_GlobalInvocationID.x * TILE;
  if (i0 >= p.n) return;

  vec2 yi[TILE], rep[TILE];
  float z[TILE];
  [[unroll]] for (uint a = 0; a < TILE; ++a) {
    yi[a] = point(min(i0 + a, p.n - 1));
    rep[a] = vec2(0.0);
    z[a] = 0.0;
  }
  for (uint k = 0; k < p.texels; ++k) {
    const vec4 t = imageLoad(Y, int(k));
    [[unroll]] for (uint a = 0; a < TILE; ++a) {
      const vec2 d0 = yi[a] - t.xy, d1 = yi[a] - t.zw;
      const float q0 = 1.0 / (1.0 + dot(d0, d0)), q1 = 1.0 / (1.0 + dot(d1, d1));
      z[a] += q0 + q1;
      rep[a] += (q0 * q0) * d0 + (q1 * q1) * d1;
    }
  }
  [[unroll]] for (uint a = 0; a < TILE; ++a) {
    const uint i = i0 + a;
    if (i < p.n) {
      vec2 f = vec2(0.0);
      float kl = 0.0;
      const uint end = rowStart[i + 1];
      for (uint e = rowStart[i]; e < end; ++e) {
        const vec2 d = yi[a] - point(col[e]);
        const float d2 = dot(d, d);
        f += (pval[e] / (1.0 + d2)) * d;
        kl += pval[e] * log(1.0 + d2);
      }
      forces[i] = vec4(f, rep[a]);
      sums[i] = vec2(z[a] - 1.0, kl);  // the self pair added q = 1
    }
  }
}
