#version 450
// Task routing: idx[n] = group[n / T] mod E, wt[n] = 1; a negative group id routes nowhere
// (idx -1, wt 0). Twin of TokenRouteTask::runCpu (engine/ops/token_route_task.h).
// One token per work item, grid-stride (any grid computes the same result).
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Group { int group[]; };
layout(std430, binding = 1) writeonly buffer Idx { int idx[]; };
layout(std430, binding = 2) writeonly buffer Wt { float wt[]; };

// Mirrors rl::TaskRouteParams.
layout(push_constant) uniform P {
  uint N, E, T;
} p;

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint n = gl_GlobalInvocationID.x; n < p.N; n += stride) {
    const int task = group[n / p.T];
    idx[n] = task < 0 ? -1 : int(uint(task) % p.E);
    wt[n] = task < 0 ? 0.0 : 1.0;
  }
}
