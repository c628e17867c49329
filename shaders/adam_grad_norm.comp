#version 450
// The gradient norm and the Adam step in one dispatch (engine/ops/optimizer.h, AdamGradNorm):
// workgroup 0 computes sqrt(sum g^2) as grad_norm.comp does (fixed order: lanes, then a tree),
// workgroups 1.. run adam.comp's grid-stride loop. Adam only reads the gradients, so the two need
// no ordering; lavapipe pays ~25 us per dispatch, and its second thread runs Adam meanwhile.
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
layout(std430, binding = 5) writeonly buffer Out { float outv[]; };  // [norm]

// Mirrors rl::AdamParams (count is also the norm's).
layout(push_constant) uniform P {
  uint count;
  float beta1, beta2, eps;
  float logBeta1, logBeta2;  // ln(beta) from the host, in double there
} p;

#include "adam.glsl"
#include "grad_norm.glsl"

void main() {
  if (gl_WorkGroupID.x == 0u) {  // workgroup-uniform branch: the norm's barriers are allowed
    const float norm = gradNormOfWorkgroup();
    if (gl_LocalInvocationID.x == 0u) outv[0] = norm;
    return;
  }
  const uint first = (gl_WorkGroupID.x - 1u) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (first >= p.count) return;
  adamRange(first, (gl_NumWorkGroups.x - 1u) * gl_WorkGroupSize.x);
}
