#version 450
// Adam over the contiguous parameter range (engine/ops/optimizer.h), with bias correction from
// globals.step (1-based). Grid-stride loop over vec4 views of the ranges (a quarter of the loop
// trips; lavapipe pays per trip), then the scalar tail: element i belongs to exactly one
// invocation, and each element gets the same arithmetic either way.
#include "common.glsl"

layout(std430, binding = 0) buffer Params { float param[]; };
layout(std430, binding = 1) readonly buffer Grads { float grad[]; };
layout(std430, binding = 2) buffer M { float m[]; };
layout(std430, binding = 3) buffer V { float v[]; };
// The same ranges as vec4 (aliases of bindings 0..3; the arena binds ranges at aligned offsets).
layout(std430, binding = 0) buffer Params4 { vec4 param4[]; };
layout(std430, binding = 1) readonly buffer Grads4 { vec4 grad4[]; };
layout(std430, binding = 2) buffer M4 { vec4 m4[]; };
layout(std430, binding = 3) buffer V4 { vec4 v4[]; };
// Mirrors rl::Globals.
layout(std430, binding = 4) readonly buffer Globals { uint step; uint seed; float lr; uint train; } globals;

// Mirrors rl::AdamParams.
layout(push_constant) uniform P {
  uint count;
  float beta1, beta2, eps;
  float logBeta1, logBeta2;  // ln(beta) from the host, in double there
} p;

#include "adam.glsl"

void main() {
  if (gl_GlobalInvocationID.x >= p.count) return;
  adamRange(gl_GlobalInvocationID.x, gl_NumWorkGroups.x * gl_WorkGroupSize.x);
}
