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

// e^x - 1 without cancellation: Taylor polynomial (Horner, relative error < 1e-9) for |x| < 0.5,
// where exp(x) - 1 would lose digits; exp(x) - 1 beyond.
float expm1Accurate(float x) {
  if (abs(x) >= 0.5) return exp(x) - 1.0;
  float s = 1.0 / 362880.0;
  s = s * x + 1.0 / 40320.0;
  s = s * x + 1.0 / 5040.0;
  s = s * x + 1.0 / 720.0;
  s = s * x + 1.0 / 120.0;
  s = s * x + 1.0 / 24.0;
  s = s * x + 1.0 / 6.0;
  s = s * x + 0.5;
  s = s * x + 1.0;
  return s * x;
}

void main() {
  if (gl_GlobalInvocationID.x >= p.count) return;
  const float t = float(max(globals.step, 1u));
  // As PyTorch: lr * mhat / (sqrt(vhat) + eps) == (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
  const float bc1 = -expm1Accurate(t * p.logBeta1), bc2 = -expm1Accurate(t * p.logBeta2);
  const float stepSize = globals.lr / bc1, invSqrtBc2 = 1.0 / sqrt(bc2);
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint quads = p.count / 4u;
  for (uint j = gl_GlobalInvocationID.x; j < quads; j += stride) {
    const vec4 g = grad4[j];
    const vec4 mj = p.beta1 * m4[j] + (1.0 - p.beta1) * g;
    const vec4 vj = p.beta2 * v4[j] + (1.0 - p.beta2) * g * g;
    m4[j] = mj;
    v4[j] = vj;
    param4[j] -= stepSize * mj / (sqrt(vj) * invSqrtBc2 + p.eps);
  }
  for (uint i = quads * 4u + gl_GlobalInvocationID.x; i < p.count; i += stride) {
    const float g = grad[i];
    const float mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    const float vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] -= stepSize * mi / (sqrt(vi) * invSqrtBc2 + p.eps);
  }
}
