#version 450
// t-SNE blocks: gathers y into the spatial order (sortedY, pads far away) and summarises each block
// of 64 points by centroid, radius, count and second moments; one invocation per block.
// (engine/tsne/tsne_ops.h)
#include "common.glsl"

const uint BLOCK = 64;                 // = rl::tsne::kTsneBlock
const float PAD_COORDINATE = 1e18;     // = rl::tsne::kTsnePadCoordinate

layout(std430, binding = 0) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 1) readonly buffer Order { uint order[]; };
layout(std430, binding = 2) writeonly buffer Sorted { vec2 sortedY[]; };
// Two vec4 per block: (centroid, radius, count), (Mxx, Mxy, Myy, 0).
layout(std430, binding = 3) writeonly buffer Blocks { vec4 blocks[]; };

// Mirrors rl::tsne::TsneBlocksParams.
layout(push_constant) uniform P { uint n; uint blocks; } p;

void main() {
  const uint b = gl_GlobalInvocationID.x;
  if (b >= p.blocks) return;
  const uint first = b * BLOCK, count = min(BLOCK, p.n - first);
  vec2 c = vec2(0.0);
  for (uint k = first; k < first + count; ++k) {
    const vec2 v = y[order[k]];
    sortedY[k] = v;
    c += v;
  }
  for (uint k = first + count; k < first + BLOCK; ++k) sortedY[k] = vec2(PAD_COORDINATE);
  c /= float(count);
  float r2 = 0.0;
  vec3 m = vec3(0.0);
  for (uint k = first; k < first + count; ++k) {
    const vec2 d = y[order[k]] - c;
    r2 = max(r2, dot(d, d));
    m += vec3(d.x * d.x, d.x * d.y, d.y * d.y);
  }
  blocks[2 * b] = vec4(c, sqrt(r2), float(count));
  blocks[2 * b + 1] = vec4(m, 0.0);
}
