#version 450
// Global gradient norm sqrt(sum g^2) (engine/ops/optimizer.h). One workgroup: lane l sums
// elements l, l + L, ... in order, then a fixed-order tree sums the lanes.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Grads { float grad[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };

// Mirrors rl::GradNormParams.
layout(push_constant) uniform P { uint count; } p;

shared float partial[gl_WorkGroupSize.x];

void main() {
  if (gl_WorkGroupID.x != 0u) return;  // a single workgroup owns the whole reduction
  const uint lane = gl_LocalInvocationID.x;
  float sum = 0.0;
  for (uint i = lane; i < p.count; i += gl_WorkGroupSize.x) sum += grad[i] * grad[i];
  partial[lane] = sum;
  barrier();
  for (uint half_ = gl_WorkGroupSize.x / 2u; half_ > 0u; half_ /= 2u) {
    if (lane < half_) partial[lane] += partial[lane + half_];
    barrier();
  }
  if (lane == 0u) outv[0] = sqrt(partial[0]);
}
