#version 450
// t-SNE tree summaries: gathers y into the spatial order (sortedY, pads far away) and summarises
// every node of the fixed three-level tree (leaves of 16, blocks of 64, chunks of 512 consecutive
// points of the order) by centroid, radius, count and second moments; one invocation per node,
// leaves first, then blocks, then chunks, so neighbouring invocations loop over equal counts.
// (engine/tsne/tsne_ops.h)
#include "common.glsl"

const uint LEAF = 16, BLOCK = 64, CHUNK = 512;  // = rl::tsne::kTsneLeaf, kTsneBlock, kTsneChunk
// = rl::tsne::kTsneBlockNodes, kTsneChunkNodes
const uint BLOCK_NODES = 1 + BLOCK / LEAF, CHUNK_NODES = 1 + 8 * BLOCK_NODES;
const float PAD_COORDINATE = 1e18;             // = rl::tsne::kTsnePadCoordinate

layout(std430, binding = 0) readonly buffer Y { vec2 y[]; };
layout(std430, binding = 1) readonly buffer Order { uint order[]; };
layout(std430, binding = 2) writeonly buffer Sorted { vec2 sortedY[]; };
// Two vec4 per node: (centroid, radius, count), (Mxx, Mxy, Myy, 0).
layout(std430, binding = 3) writeonly buffer Nodes { vec4 nodes[]; };

// Mirrors rl::tsne::TsneBlocksParams.
layout(push_constant) uniform P { uint n; uint leaves; uint blocks; uint chunks; } p;

uint blockNode(uint b) { return CHUNK_NODES * (b / 8u) + 1u + BLOCK_NODES * (b % 8u); }  // = rl::tsne::tsneBlockNode

void main() {
  const uint g = gl_GlobalInvocationID.x;
  if (g >= p.leaves + p.blocks + p.chunks) return;
  uint node, first, size;
  if (g < p.leaves) {
    node = blockNode(g / (BLOCK / LEAF)) + 1u + g % (BLOCK / LEAF);
    first = g * LEAF;
    size = LEAF;
    for (uint k = first; k < first + LEAF; ++k) sortedY[k] = k < p.n ? y[order[k]] : vec2(PAD_COORDINATE);
  } else if (g < p.leaves + p.blocks) {
    node = blockNode(g - p.leaves);
    first = (g - p.leaves) * BLOCK;
    size = BLOCK;
  } else {
    node = CHUNK_NODES * (g - p.leaves - p.blocks);
    first = (g - p.leaves - p.blocks) * CHUNK;
    size = CHUNK;
  }
  // Leaves cover the sorted slots up to B * 64 (pads included): every slot is written.
  if (g == p.leaves - 1u)
    for (uint k = (g + 1u) * LEAF; k < p.blocks * BLOCK; ++k) sortedY[k] = vec2(PAD_COORDINATE);
  const uint count = min(size, p.n - first);
  vec2 c = vec2(0.0);
  for (uint k = first; k < first + count; ++k) c += y[order[k]];
  c /= float(count);
  float r2 = 0.0;
  vec3 m = vec3(0.0);
  for (uint k = first; k < first + count; ++k) {
    const vec2 d = y[order[k]] - c;
    r2 = max(r2, dot(d, d));
    m += vec3(d.x * d.x, d.x * d.y, d.y * d.y);
  }
  nodes[2 * node] = vec4(c, sqrt(r2), float(count));
  nodes[2 * node + 1] = vec4(m, 0.0);
}
