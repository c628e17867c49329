#version 450
// SGD with momentum over the contiguous parameter range (engine/ops/optimizer.h):
// v = mu v + g; p -= lr v. Grid-stride loop: element i belongs to exactly one invocation.
#include "common.glsl"

layout(std430, binding = 0) buffer Params { float param[]; };
layout(std430, binding = 1) readonly buffer Grads { float grad[]; };
layout(std430, binding = 2) buffer Velocity { float velocity[]; };
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
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
    const float vi = p.momentum * velocity[i] + grad[i];
    velocity[i] = vi;
    param[i] -= globals.lr * vi;
  }
}
