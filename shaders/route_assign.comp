#version 450
// Capacity assignment, one invocation per expert. Twin of RouteAssign::runCpu
// (engine/ops/route_assign.cpp). N tokens, E experts, k choices per token, C capacity.
// Invocation e walks every choice in priority order (rank-major: all first choices in token
// order, then all second choices, ...) and owns slot[n,j] wherever idx[n,j] = e, plus its own
// C entries of slotAssign. Invocation 0 also marks choices that name no expert as dropped.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Idx { int idx[]; };
layout(std430, binding = 1) writeonly buffer Slot { int slot[]; };
layout(std430, binding = 2) writeonly buffer SlotAssign { int slotAssign[]; };

layout(push_constant) uniform P {
  uint N, E, k, C;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.E) return;
  int e = int(gl_GlobalInvocationID.x);
  uint first = uint(e) * p.C, filled = 0u;
  for (uint j = 0u; j < p.k; ++j) {
    for (uint n = 0u; n < p.N; ++n) {
      uint a = n * p.k + j;
      int chosen = idx[a];
      if (chosen == e) {
        if (filled < p.C) {
          slotAssign[first + filled] = int(a);
          slot[a] = int(first + filled);
          ++filled;
        } else {
          slot[a] = -1;
        }
      } else if (e == 0 && (chosen < 0 || chosen >= int(p.E))) {
        slot[a] = -1;
      }
    }
  }
  for (uint c = filled; c < p.C; ++c) slotAssign[first + c] = -1;
}
