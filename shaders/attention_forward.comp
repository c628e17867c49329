#version 450
// Multi-head self-attention forward, fused: scores, softmax and P V in one dispatch. Twin of
// AttentionForward::runCpu (engine/ops/attention.h, which has the layout and legend).
// Work item = one query row (b, h, i), item = (b H + h) T + i; invocations stride over the items.
// Scores are staged in the item's own row of probs (written, then normalised in place), so any T
// works without a private array; keys are visited in ascending j.
#include "common.glsl"

layout(constant_id = 1) const uint DH4 = 1;  // head width / 4

layout(binding = 0, rgba32f) uniform readonly imageBuffer QKV;  // [N, 3D/4] texels: q | k | v
layout(std430, binding = 1) writeonly buffer Out { vec4 o[]; };   // [N, D/4]
layout(std430, binding = 2) buffer Probs { float probs[]; };      // [B, H, T, T]

// Mirrors rl::AttentionParams.
layout(push_constant) uniform P {
  uint B, T, H, DH;
  uint causal;
  float scale;
} p;

void queryRow(const uint item) {
  const uint i = item % p.T, bh = item / p.T;
  const uint h = bh % p.H, b = bh / p.H;
  const uint D4 = p.H * DH4, row4 = 3u * D4;  // texels per o row / per qkv row
  const int seq0 = int(b * p.T * row4 + h * DH4);   // q texel of (b, t = 0, head h)
  const int k0 = seq0 + int(D4), v0 = seq0 + 2 * int(D4);
  const uint pRow = item * p.T;
  const uint keys = p.causal != 0u ? i + 1u : p.T;

  vec4 q[DH4];
  [[unroll]] for (uint c = 0; c < DH4; ++c) q[c] = imageLoad(QKV, seq0 + int(i * row4 + c));

  float m = -3.402823466e38;
  for (uint j = 0; j < keys; ++j) {
    const int kj = k0 + int(j * row4);
    vec4 acc = vec4(0.0);
    [[unroll]] for (uint c = 0; c < DH4; ++c) acc += q[c] * imageLoad(QKV, kj + int(c));
    const float s = p.scale * ((acc.x + acc.y) + (acc.z + acc.w));
    probs[pRow + j] = s;
    m = max(m, s);
  }

  float l = 0.0;
  vec4 acc[DH4];
  [[unroll]] for (uint c = 0; c < DH4; ++c) acc[c] = vec4(0.0);
  for (uint j = 0; j < keys; ++j) {
    const float e = exp(probs[pRow + j] - m);
    probs[pRow + j] = e;
    l += e;
    const int vj = v0 + int(j * row4);
    [[unroll]] for (uint c = 0; c < DH4; ++c) acc[c] += e * imageLoad(QKV, vj + int(c));
  }

  const float inv = 1.0 / l;
  for (uint j = 0; j < keys; ++j) probs[pRow + j] *= inv;
  for (uint j = keys; j < p.T; ++j) probs[pRow + j] = 0.0;
  const uint out0 = (b * p.T + i) * D4 + h * DH4;
  [[unroll]] for (uint c = 0; c < DH4; ++c) o[out0 + c] = acc[c] * inv;
}

void main() {
  const uint items = p.B * p.H * p.T;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) queryRow(item);
}
