#version 450
// Hash routing: idx[n] = fmix32(ids[n] + salt * 0x9E3779B9) mod E, wt[n] = 1; a negative id routes
// nowhere (idx -1, wt 0). Twin of TokenRouteHash::runCpu (engine/ops/token_route_hash.h).
// One token per work item, grid-stride (any grid computes the same result).
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Ids { int ids[]; };
layout(std430, binding = 1) writeonly buffer Idx { int idx[]; };
layout(std430, binding = 2) writeonly buffer Wt { float wt[]; };

// Mirrors rl::HashRouteParams.
layout(push_constant) uniform P {
  uint N, E, salt;
} p;

uint fmix32(uint h) {
  h ^= h >> 16; h *= 0x85ebca6bu;
  h ^= h >> 13; h *= 0xc2b2ae35u;
  h ^= h >> 16; return h;
}

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint n = gl_GlobalInvocationID.x; n < p.N; n += stride) {
    const int id = ids[n];
    const int e = id < 0 ? -1 : int(fmix32(uint(id) + p.salt * 0x9E3779B9u) % p.E);
    idx[n] = e;
    wt[n] = e < 0 ? 0.0 : 1.0;
  }
}
