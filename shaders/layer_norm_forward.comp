#version 450
// Layer norm forward. Twin of LayerNormForward::runCpu (engine/ops/layer_norm.h, which has the
// formulas). Work item = one row n: three passes of texel loads over its D/4 texels (mean, then
// the biased variance about the mean, then y), so nothing is kept in registers between passes.
#include "common.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer X;      // [N, D/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer GAMMA;  // [D/4] texels
layout(binding = 2, rgba32f) uniform readonly imageBuffer BETA;   // [D/4] texels
layout(std430, binding = 3) writeonly buffer Y { vec4 y[]; };      // [N, D/4]
layout(std430, binding = 4) writeonly buffer Mean { float mean[]; };  // [N]
layout(std430, binding = 5) writeonly buffer Rstd { float rstd[]; };  // [N]

// Mirrors rl::LayerNormParams.
layout(push_constant) uniform P {
  uint N, D;
  float eps;
  uint accumulate;  // backward only
} p;

float hsum(const vec4 v) { return (v.x + v.y) + (v.z + v.w); }

void main() {
  const uint D4 = p.D / 4u;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint n = gl_GlobalInvocationID.x; n < p.N; n += stride) {
    const int x0 = int(n * D4);
    vec4 s = vec4(0.0);
    for (uint c = 0; c < D4; ++c) s += imageLoad(X, x0 + int(c));
    const float mu = hsum(s) / float(p.D);
    vec4 q = vec4(0.0);
    for (uint c = 0; c < D4; ++c) {
      const vec4 d = imageLoad(X, x0 + int(c)) - mu;
      q += d * d;
    }
    const float r = 1.0 / sqrt(hsum(q) / float(p.D) + p.eps);
    for (uint c = 0; c < D4; ++c)
      y[n * D4 + c] = (imageLoad(X, x0 + int(c)) - mu) * r * imageLoad(GAMMA, int(c)) + imageLoad(BETA, int(c));
    mean[n] = mu;
    rstd[n] = r;
  }
}
