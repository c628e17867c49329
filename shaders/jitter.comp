#version 450
// Multiplicative router-input noise (engine/ops/jitter.h): out (=/+=) in * factor with
// factor = 1 + eps (2u - 1), u = rl_uniform(seed, step, stream, i), or 1 when not training.
// The forward (x -> y) and the backward (dy -> dx) are the same computation.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer In { float inv[]; };
// Mirrors rl::Globals.
layout(std430, binding = 1) readonly buffer Globals { uint step; uint seed; float lr; uint train; } globals;
layout(std430, binding = 2) buffer Out { float outv[]; };

// Mirrors rl::JitterParams.
layout(push_constant) uniform P {
  uint count;
  float eps;
  uint stream, accumulate;
} p;

void main() {
  if (gl_GlobalInvocationID.x >= p.count) return;
  const uint i = gl_GlobalInvocationID.x;
  const float factor = globals.train != 0u
      ? 1.0 + p.eps * (2.0 * rl_uniform(globals.seed, globals.step, p.stream, i) - 1.0)
      : 1.0;
  const float value = inv[i] * factor;
  outv[i] = p.accumulate != 0u ? outv[i] + value : value;
}
