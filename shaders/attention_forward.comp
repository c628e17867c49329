#version 450
// Multi-head self-attention forward, fused: scores, softmax and P V in one dispatch. Twin of
// AttentionForward::runCpu (engine/ops/attention.h, which has the layout and legend).
// Work item = R consecutive query rows of one head (b, h, i0 .. i0+R-1), item = (b H + h) tiles + i0/R:
// each key and value texel loaded serves R rows. Two passes over the keys (j ascending): the first
// finds each row's max m and sum l = sum_j e^(s_j - m) online, the second writes P = e^(s - m) / l
// and accumulates o, so nothing is read back from memory (buffer loads are per-lane loops on
// lavapipe; texel loads are gathers). Rows past T (the last tile) compute on a clamped row and
// write nothing.
#include "common.glsl"

const uint R = 4;  // = rl::kAttentionRows
layout(constant_id = 1) const uint DH4 = 1;  // head width / 4

layout(binding = 0, rgba32f) uniform readonly imageBuffer QKV;  // [N, 3D/4] texels: q | k | v
layout(std430, binding = 1) writeonly buffer Out { vec4 o[]; };   // [N, D/4]
layout(std430, binding = 2) writeonly buffer Probs { float probs[]; };  // [B, H, T, T]
layout(std430, binding = 3) writeonly buffer Lse { vec4 lse[]; };  // [B H T] texels: (log-sum-exp, 0, 0, 0)

// Mirrors rl::AttentionParams.
layout(push_constant) uniform P {
  uint B, T, H, DH;
  uint causal;
  float scale;
} p;

void queryTile(const uint item) {
  const uint tiles = (p.T + R - 1u) / R;
  const uint i0 = (item % tiles) * R, bh = item / tiles;
  const uint h = bh % p.H, b = bh / p.H;
  const uint D4 = p.H * DH4, row4 = 3u * D4;  // texels per o row / per qkv row
  const int q0 = int(b * p.T * row4 + h * DH4);  // q texel of (b, t = 0, head h)
  const int k0 = q0 + int(D4), v0 = q0 + 2 * int(D4);
  const bool causal = p.causal != 0u;
  const uint keys = causal ? min(i0 + R, p.T) : p.T;

  vec4 q[R][DH4];
  [[unroll]] for (uint r = 0; r < R; ++r) {
    const uint i = min(i0 + r, p.T - 1u);
    [[unroll]] for (uint c = 0; c < DH4; ++c) q[r][c] = p.scale * imageLoad(QKV, q0 + int(i * row4 + c));
  }

  float m[R], l[R];
  [[unroll]] for (uint r = 0; r < R; ++r) {
    m[r] = -3.402823466e38;
    l[r] = 0.0;
  }
  for (uint j = 0; j < keys; ++j) {
    vec4 k[DH4];
    [[unroll]] for (uint c = 0; c < DH4; ++c) k[c] = imageLoad(QKV, k0 + int(j * row4 + c));
    [[unroll]] for (uint r = 0; r < R; ++r) {
      if (causal && j > i0 + r) continue;
      vec4 d = vec4(0.0);
      [[unroll]] for (uint c = 0; c < DH4; ++c) d += q[r][c] * k[c];
      const float s = (d.x + d.y) + (d.z + d.w);
      const float mNew = max(m[r], s);
      l[r] = l[r] * exp(m[r] - mNew) + exp(s - mNew);
      m[r] = mNew;
    }
  }

  float inv[R];
  vec4 acc[R][DH4];
  [[unroll]] for (uint r = 0; r < R; ++r) {
    inv[r] = 1.0 / l[r];
    [[unroll]] for (uint c = 0; c < DH4; ++c) acc[r][c] = vec4(0.0);
  }
  for (uint j = 0; j < keys; ++j) {
    vec4 k[DH4], v[DH4];
    [[unroll]] for (uint c = 0; c < DH4; ++c) {
      k[c] = imageLoad(QKV, k0 + int(j * row4 + c));
      v[c] = imageLoad(QKV, v0 + int(j * row4 + c));
    }
    [[unroll]] for (uint r = 0; r < R; ++r) {
      float pr = 0.0;
      if (!causal || j <= i0 + r) {
        vec4 d = vec4(0.0);
        [[unroll]] for (uint c = 0; c < DH4; ++c) d += q[r][c] * k[c];
        pr = exp(((d.x + d.y) + (d.z + d.w)) - m[r]) * inv[r];
      }
      if (i0 + r < p.T) probs[(bh * p.T + i0 + r) * p.T + j] = pr;
      [[unroll]] for (uint c = 0; c < DH4; ++c) acc[r][c] += pr * v[c];
    }
  }

  [[unroll]] for (uint r = 0; r < R; ++r) {
    const uint i = i0 + r;
    if (i >= p.T) break;
    for (uint j = keys; j < p.T; ++j) probs[(bh * p.T + i) * p.T + j] = 0.0;
    const uint out0 = (b * p.T + i) * D4 + h * DH4;
    [[unroll]] for (uint c = 0; c < DH4; ++c) o[out0 + c] = acc[r][c];
    lse[bh * p.T + i] = vec4(m[r] + log(l[r]), 0.0, 0.0, 0.0);
  }
}

void main() {
  const uint items = p.B * p.H * ((p.T + R - 1u) / R);
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) queryTile(item);
}
