#version 450
// t-SNE gradient step: Z and the KL sum by a fixed-order reduction in one workgroup, then gains,
// momentum and the position update for every point. (engine/tsne/tsne_ops.h, schedule.h)
#include "common.glsl"

layout(std430, binding = 0) buffer Y { vec2 y[]; };
layout(std430, binding = 1) readonly buffer Forces { vec4 forces[]; };
layout(std430, binding = 2) readonly buffer Sums { vec2 sums[]; };
layout(std430, binding = 3) buffer Gains { vec2 gains[]; };
layout(std430, binding = 4) buffer Update { vec2 upd[]; };
layout(std430, binding = 5) buffer State { uint iteration; float z; float kl; uint klIteration; } st;

// Mirrors rl::tsne::TsneUpdateParams.
layout(push_constant) uniform P {
  uint n, exaggerationIterations;
  float exaggeration, momentum, finalMomentum, learningRate;
} p;

const float GAIN_UP = 0.2, GAIN_DOWN = 0.8, MIN_GAIN = 0.01;  // = rl::tsne::kGain*

shared vec2 partial[gl_WorkGroupSize.x];

void main() {
  const uint lid = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x;
  vec2 s = vec2(0.0);
  for (uint i = lid; i < p.n; i += L) s += sums[i];
  partial[lid] = s;
  barrier();
  for (uint half_ = L / 2; half_ > 0; half_ >>= 1) {
    if (lid < half_) partial[lid] += partial[lid + half_];
    barrier();
  }
  const float Z = partial[0].x;
  const uint t = st.iteration;
  const bool early = t < p.exaggerationIterations;
  const float exaggeration = early ? p.exaggeration : 1.0;
  const float momentum = early ? p.momentum : p.finalMomentum;
  const float invZ = 1.0 / Z;
  for (uint i = lid; i < p.n; i += L) {
    const vec4 f = forces[i];
    const vec2 g = exaggeration * f.xy - f.zw * invZ;
    const vec2 u = upd[i];
    vec2 gain = mix(gains[i] * GAIN_DOWN, gains[i] + GAIN_UP, lessThan(g * u, vec2(0.0)));
    gain = max(gain, vec2(MIN_GAIN));
    gains[i] = gain;
    const vec2 nu = momentum * u - p.learningRate * gain * g;
    upd[i] = nu;
    y[i] += nu;
  }
  barrier();  // every invocation has read st.iteration
  if (lid == 0) {
    st.iteration = t + 1;
    st.z = Z;
    st.kl = partial[0].y;
  }
}
