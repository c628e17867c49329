#version 450
// Multi-head self-attention backward, fused into one dispatch. Twin of AttentionBackward::runCpu
// (engine/ops/attention.h, which has the layout and the formulas). With N' = B H T:
//   items [0, N')   query row (b, h, i): dq_i = scale sum_j dS_ij k_j          (j ascending)
//   items [N', 2N') key row (b, h, j):   dk_j = scale sum_i dS_ij q_i,
//                                        dv_j = sum_i P_ij do_i                (i ascending)
// dS_ij = P_ij (<do_i, v_j> - <do_i, o_i>) is recomputed where needed, so the two halves share
// nothing and each output element has exactly one writer. Causal: P_ij = 0 for j > i, so those
// pairs are skipped.
#include "common.glsl"

layout(constant_id = 1) const uint DH4 = 1;  // head width / 4

layout(binding = 0, rgba32f) uniform readonly imageBuffer QKV;  // [N, 3D/4] texels: q | k | v
layout(binding = 1, rgba32f) uniform readonly imageBuffer O;    // [N, D/4]
layout(binding = 2, rgba32f) uniform readonly imageBuffer DO;   // [N, D/4]
layout(std430, binding = 3) readonly buffer Probs { float probs[]; };  // [B, H, T, T]
layout(std430, binding = 4) writeonly buffer DQKV { vec4 dqkv[]; };    // [N, 3D/4]

// Mirrors rl::AttentionParams.
layout(push_constant) uniform P {
  uint B, T, H, DH;
  uint causal;
  float scale;
} p;

float hsum(const vec4 v) { return (v.x + v.y) + (v.z + v.w); }

void queryRow(const uint item) {
  const uint i = item % p.T, bh = item / p.T;
  const uint h = bh % p.H, b = bh / p.H;
  const uint D4 = p.H * DH4, row4 = 3u * D4;
  const int q0 = int(b * p.T * row4 + h * DH4), k0 = q0 + int(D4), v0 = q0 + 2 * int(D4);
  const int oi = int((b * p.T + i) * D4 + h * DH4);
  const uint pRow = item * p.T;
  const uint keys = p.causal != 0u ? i + 1u : p.T;

  vec4 dOi[DH4];
  vec4 dl = vec4(0.0);
  [[unroll]] for (uint c = 0; c < DH4; ++c) {
    dOi[c] = imageLoad(DO, oi + int(c));
    dl += dOi[c] * imageLoad(O, oi + int(c));
  }
  const float Dl = hsum(dl);
  vec4 acc[DH4];
  [[unroll]] for (uint c = 0; c < DH4; ++c) acc[c] = vec4(0.0);
  for (uint j = 0; j < keys; ++j) {
    const int vj = v0 + int(j * row4), kj = k0 + int(j * row4);
    vec4 dp = vec4(0.0);
    [[unroll]] for (uint c = 0; c < DH4; ++c) dp += dOi[c] * imageLoad(QKV, vj + int(c));
    const float ds = probs[pRow + j] * (hsum(dp) - Dl);
    [[unroll]] for (uint c = 0; c < DH4; ++c) acc[c] += ds * imageLoad(QKV, kj + int(c));
  }
  const uint out0 = (b * p.T + i) * row4 + h * DH4;
  [[unroll]] for (uint c = 0; c < DH4; ++c) dqkv[out0 + c] = p.scale * acc[c];
}

void keyRow(const uint item) {
  const uint j = item % p.T, bh = item / p.T;
  const uint h = bh % p.H, b = bh / p.H;
  const uint D4 = p.H * DH4, row4 = 3u * D4;
  const int q0 = int(b * p.T * row4 + h * DH4);
  const int o0 = int(b * p.T * D4 + h * DH4);
  const uint pCol = bh * p.T * p.T + j;  // P[b, h, 0, j]; row i adds i T
  const uint first = p.causal != 0u ? j : 0u;

  vec4 vj[DH4], dk[DH4], dv[DH4];
  [[unroll]] for (uint c = 0; c < DH4; ++c) {
    vj[c] = imageLoad(QKV, q0 + int(j * row4 + 2u * D4 + c));
    dk[c] = vec4(0.0);
    dv[c] = vec4(0.0);
  }
  for (uint i = first; i < p.T; ++i) {
    const int oi = o0 + int(i * D4), qi = q0 + int(i * row4);
    const float pij = probs[pCol + i * p.T];
    vec4 dOi[DH4];
    vec4 dl = vec4(0.0), dp = vec4(0.0);
    [[unroll]] for (uint c = 0; c < DH4; ++c) {
      dOi[c] = imageLoad(DO, oi + int(c));
      dl += dOi[c] * imageLoad(O, oi + int(c));
      dp += dOi[c] * vj[c];
    }
    const float ds = pij * (hsum(dp) - hsum(dl));
    [[unroll]] for (uint c = 0; c < DH4; ++c) {
      dk[c] += ds * imageLoad(QKV, qi + int(c));
      dv[c] += pij * dOi[c];
    }
  }
  const uint out0 = (b * p.T + j) * row4 + h * DH4;
  [[unroll]] for (uint c = 0; c < DH4; ++c) {
    dqkv[out0 + D4 + c] = p.scale * dk[c];
    dqkv[out0 + 2u * D4 + c] = dv[c];
  }
}

void main() {
  const uint rows = p.B * p.H * p.T;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < 2u * rows; item += stride) {
    if (item < rows)
      queryRow(item);
    else
      keyRow(item - rows);
  }
}
