#version 450
// y = a + b over `count` floats for counts that are not a multiple of 4 (residual_add.comp, with
// texel loads, takes the others): ResidualAdd, and AccumulateInto bound as (src, dst, dst)
// (engine/ops/residual_add.h). Work item i = floats 4i .. 4i+3 through vec4 views of the storage
// buffers (a quarter of the per-lane loads lavapipe loops over); the last item is scalar. Every
// element is read and then written by one invocation, so the aliased AccumulateInto bindings are safe.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
// The same ranges as vec4 (aliases of bindings 0..2).
layout(std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout(std430, binding = 1) readonly buffer B4 { vec4 b4[]; };
layout(std430, binding = 2) writeonly buffer Y4 { vec4 y4[]; };

// Mirrors rl::ResidualAddParams.
layout(push_constant) uniform P {
  uint count;
} p;

void main() {
  const uint quads = p.count / 4u, items = (p.count + 3u) / 4u;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < items; i += stride) {
    if (i < quads) {
      y4[i] = a4[i] + b4[i];
    } else {
      for (uint e = 4u * i; e < p.count; ++e) y[e] = a[e] + b[e];
    }
  }
}
