#version 450
// y = a + b over `count` floats, count a multiple of 4 (residual_add_storage.comp takes the
// others): ResidualAdd, and AccumulateInto bound as (src, dst, dst) (engine/ops/residual_add.h).
// Work item i = texel i (floats 4i .. 4i+3): a and b are read as rgba32f texel buffers (gathers on
// lavapipe, where storage-buffer loads are per-lane loops: about twice as fast here), y written
// through a storage buffer. Every element is read and then written by one invocation, so
// AccumulateInto reading dst as a texel and writing it as a buffer is safe.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer A;  // [count/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer B;  // [count/4] texels
layout(std430, binding = 2) writeonly buffer Y { vec4 y[]; };  // [count/4]

// Mirrors rl::ResidualAddParams.
layout(push_constant) uniform P {
  uint count;
} p;

void main() {
  const uint texels = p.count / 4u;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < texels; i += stride) y[i] = imageLoad(A, int(i)) + imageLoad(B, int(i));
}
