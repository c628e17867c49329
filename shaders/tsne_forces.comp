#version 450
// t-SNE forces: repulsion by a Barnes-Hut walk of the fixed tree of the spatially ordered points
// (far nodes by a second-order expansion about their centroid, near leaves exactly; theta = 0: all
// exact), attraction over the sparse P. One workgroup per block of 64 points of the order (the grid
// is exactly B workgroups), TILE of them per invocation; every sum in a fixed order
// (deterministic, no atomics). (engine/tsne/tsne_ops.h)
// Lavapipe style: positions read as rgba32f texels (two points per load) shared by TILE register
// rows. Lavapipe runs both sides of a branch (masked) even when no invocation takes one, so the
// walk (the same for the whole workgroup) only writes lists -- far nodes, near leaves -- and two
// loops without branches run over them.
#include "common.glsl"

layout(constant_id = 1) const uint TILE = 8;  // workgroup size = 64 / TILE
const uint CHUNK = 512, BLOCK = 64, LEAF = 16;  // = rl::tsne::kTsneChunk, kTsneBlock, kTsneLeaf
// = rl::tsne::kTsneBlockNodes, kTsneChunkNodes
const uint BLOCK_NODES = 1 + BLOCK / LEAF, CHUNK_NODES = 1 + 8 * BLOCK_NODES;

layout(binding = 0, rgba32f) uniform readonly imageBuffer Y;       // [Np / 2] texels: (x0, y0, x1, y1)
layout(binding = 1, rgba32f) uniform readonly imageBuffer Sorted;  // [B * 32] texels, spatial order
// [2M]: (centroid, radius, count), (Mxx, Mxy, Myy, 0)
layout(binding = 2, rgba32f) uniform readonly imageBuffer Nodes;
layout(binding = 3, rgba32f) uniform readonly imageBuffer PTexels;  // [T]: (col, p, col, p) (packAffinities)
layout(std430, binding = 4) readonly buffer Order { uint order[]; };
layout(std430, binding = 5) readonly buffer AttractOrder { uint attractOrder[]; };
layout(std430, binding = 6) readonly buffer RowTexels { uint rowTexels[]; };
layout(std430, binding = 7) readonly buffer State { uint iteration; float z; float kl; uint klIteration; } st;
layout(std430, binding = 8) buffer Forces { vec4 forces[]; };  // (attraction, repulsion)
layout(std430, binding = 9) buffer Sums { vec2 sums[]; };      // (z_i, kl_i)
// [B, M] scratch, row t for this workgroup: far nodes from the front, near leaves' first points
// from the back.
layout(std430, binding = 10) coherent buffer Lists { uint lists[]; };

// Mirrors rl::tsne::TsneForcesParams.
layout(push_constant) uniform P { uint n; uint blocks; float theta; uint nodes; } p;

vec2 point(uint j) {
  const vec4 t = imageLoad(Y, int(j >> 1));
  return (j & 1u) == 0u ? t.xy : t.zw;
}

void main() {
  const uint t = gl_WorkGroupID.x;
  const uint k0 = t * BLOCK + gl_LocalInvocationID.x * TILE;  // first of this invocation's slots

  // --- repulsion of the points k0 .. k0 + TILE - 1 of the order ---
  vec2 yi[TILE], rep[TILE];
  float z[TILE];
  [[unroll]] for (uint a = 0; a < TILE; a += 2) {
    const vec4 two = imageLoad(Sorted, int((k0 + a) >> 1));  // k0 is even when TILE is
    yi[a] = TILE == 1 && (k0 & 1u) == 1u ? two.zw : two.xy;
    if (a + 1 < TILE) yi[a + 1] = two.zw;
  }
  [[unroll]] for (uint a = 0; a < TILE; ++a) {
    rep[a] = vec2(0.0);
    z[a] = 0.0;
  }
  // The walk: every invocation makes the same choices (counts in registers); invocation 0 writes.
  const uint blockNode = CHUNK_NODES * (t / 8u) + 1u + BLOCK_NODES * (t % 8u);  // = rl::tsne::tsneBlockNode
  const vec4 bt = imageLoad(Nodes, int(2 * blockNode));
  const uint row = t * p.nodes;
  uint farCount = 0u, nearCount = 0u;
  for (uint s = 0u; s < p.nodes;) {
    const vec4 bs = imageLoad(Nodes, int(2 * s));
    // The node from its index (= rl::tsne::tsneNode): chunk, block or leaf, first point, skip.
    const uint o = s % CHUNK_NODES, b = (o - 1u) / BLOCK_NODES, l = (o - 1u) % BLOCK_NODES;
    const bool leaf = o != 0u && l != 0u;
    const uint first = (s / CHUNK_NODES) * CHUNK + b * BLOCK + (l - 1u) * LEAF;  // used for leaves only
    const uint skip = o == 0u ? min(s + CHUNK_NODES, p.nodes) : (l == 0u ? min(s + BLOCK_NODES, p.nodes) : s + 1u);
    const float gap = max(distance(bt.xy, bs.xy) - bt.z, 0.0);
    const bool far = p.theta > 0.0 && p.theta * sqrt(1.0 + gap * gap) > bs.z;
    if (gl_LocalInvocationID.x == 0u && (far || leaf))
      lists[row + (far ? farCount : p.nodes - 1u - nearCount)] = far ? s : first;
    farCount += far ? 1u : 0u;
    nearCount += !far && leaf ? 1u : 0u;
    s = far || leaf ? skip : s + 1u;
  }
  memoryBarrierBuffer();
  barrier();
  for (uint e = 0u; e < farCount; ++e) {
    const uint s = lists[row + e];
    const vec4 bs = imageLoad(Nodes, int(2 * s));
    const vec4 m = imageLoad(Nodes, int(2 * s + 1));  // (Mxx, Mxy, Myy, 0)
    const float tr = m.x + m.z;
    [[unroll]] for (uint a = 0; a < TILE; ++a) {
      const vec2 r = yi[a] - bs.xy;
      const float q = 1.0 / (1.0 + dot(r, r)), q2 = q * q, q3 = q2 * q;
      const vec2 mr = vec2(m.x * r.x + m.y * r.y, m.y * r.x + m.z * r.y);
      const float rmr = dot(r, mr);
      z[a] += bs.w * q - q2 * tr + 4.0 * q3 * rmr;
      rep[a] += (bs.w * q2 + 12.0 * q3 * q * rmr - 2.0 * q3 * tr) * r - (4.0 * q3) * mr;
    }
  }
  for (uint e = 0u; e < nearCount; ++e) {
    const uint first = lists[row + p.nodes - 1u - e];  // a leaf: LEAF / 2 texels (pads add nothing)
    [[unroll]] for (uint h = 0u; h < LEAF / 2u; ++h) {
      const vec4 tx = imageLoad(Sorted, int(first / 2u + h));
      [[unroll]] for (uint a = 0; a < TILE; ++a) {
        const vec2 d0 = yi[a] - tx.xy, d1 = yi[a] - tx.zw;
        const float q0 = 1.0 / (1.0 + dot(d0, d0)), q1 = 1.0 / (1.0 + dot(d1, d1));
        z[a] += q0 + q1;
        rep[a] += (q0 * q0) * d0 + (q1 * q1) * d1;
      }
    }
  }
  [[unroll]] for (uint a = 0; a < TILE; ++a) {
    const uint k = k0 + a;
    if (k < p.n) {
      const uint i = order[k];
      forces[i].zw = rep[a];
      sums[i].x = z[a] - 1.0;  // the self pair added q = 1
    }
  }

  // --- attraction of the points in the same slots of the attraction order ---
  // Two copies of the row loop, with and without the logarithms of KL: a branch inside one loop
  // would run its logarithms always (see above); the loop not wanted gets no entries.
  const bool withKl = st.iteration == st.klIteration;
  [[unroll]] for (uint a = 0; a < TILE; ++a) {
    const uint k = k0 + a;
    if (k < p.n) {
      const uint i = attractOrder[k];
      const vec2 y0 = point(i);
      vec2 f = vec2(0.0);
      float kl = 0.0;
      const uint begin = rowTexels[i], end = rowTexels[i + 1];
      for (uint e = begin; e < (withKl ? begin : end); ++e) {
        const vec4 pe = imageLoad(PTexels, int(e));
        const vec2 d0 = y0 - point(uint(pe.x)), d1 = y0 - point(uint(pe.z));
        f += (pe.y / (1.0 + dot(d0, d0))) * d0 + (pe.w / (1.0 + dot(d1, d1))) * d1;
      }
      for (uint e = begin; e < (withKl ? end : begin); ++e) {
        const vec4 pe = imageLoad(PTexels, int(e));
        const vec2 d0 = y0 - point(uint(pe.x)), d1 = y0 - point(uint(pe.z));
        const float s0 = dot(d0, d0), s1 = dot(d1, d1);
        f += (pe.y / (1.0 + s0)) * d0 + (pe.w / (1.0 + s1)) * d1;
        kl += pe.y * log(1.0 + s0) + pe.w * log(1.0 + s1);
      }
      forces[i].xy = f;
      sums[i].y = kl;
    }
  }
}
