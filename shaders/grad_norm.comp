#version 450
// Global gradient norm sqrt(sum g^2) (engine/ops/optimizer.h). One workgroup, fixed summation
// order (grad_norm.glsl).
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Grads { float grad[]; };
layout(std430, binding = 0) readonly buffer Grads4 { vec4 grad4[]; };  // the same range as vec4 (aligned offset)
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };

// Mirrors rl::GradNormParams.
layout(push_constant) uniform P { uint count; } p;

#include "grad_norm.glsl"

void main() {
  if (gl_WorkGroupID.x != 0u) return;  // a single workgroup owns the whole reduction
  const float norm = gradNormOfWorkgroup();
  if (gl_LocalInvocationID.x == 0u) outv[0] = norm;
}
