#version 450
// SGD with momentum over the contiguous parameter range (engine/ops/optimizer.h):
// v = mu v + g; p -= lr v. Grid-stride loop over vec4 views of the ranges (a quarter of the loop
// trips; lavapipe pays per trip), then the scalar tail: element i belongs to exactly one invocation.
#include "common.glsl"

layout(std430, binding = 0) buffer Params { float param[]; };
layout(std430, binding = 1) readonly buffer Grads { float grad[]; };
layout(std430, binding = 2) buffer Velocity { float velocity[]; };
// The same ranges as vec4 (aliases of bindings 0..2; the arena binds ranges at aligned offsets).
layout(std430, binding = 0) buffer Params4 { vec4 param4[]; };
layout(std430, binding = 1) readonly buffer Grads4 { vec4 grad4[]; };
layout(std430, binding = 2) buffer Velocity4 { vec4 velocity4[]; };
// Mirrors rl::Globals.
layout(std430, binding = 3) readonly buffer Globals { uint step; uint seed; float lr; uint train; } globals;

// Mirrors rl::SgdParams.
layout(push_constant) uniform P {
  uint count;
  float momentum;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.count) return;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint quads = p.count / 4u;
  for (uint j = gl_GlobalInvocationID.x; j < quads; j += stride) {
    const vec4 vj = p.momentum * velocity4[j] + grad4[j];
    velocity4[j] = vj;
    param4[j] -= globals.lr * vj;
  }
  for (uint i = quads * 4u + gl_GlobalInvocationID.x; i < p.count; i += stride) {
    const float vi = p.momentum * velocity[i] + grad[i];
    velocity[i] = vi;
    param[i] -= globals.lr * vi;
  }
}
