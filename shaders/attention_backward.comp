#version 450
// Multi-head self-attention backward, fused into one dispatch. Twin of AttentionBackward::runCpu
// (engine/ops/attention.h, which has the layout and the formulas). With N' = B H tiles, a tile =
// R consecutive positions of one head:
//   items [0, N')   query rows i0..i0+R-1: dq_i = scale sum_j dS_ij k_j      (j ascending)
//   items [N', 2N') key rows j0..j0+R-1:   dk_j = scale sum_i dS_ij q_i,
//                                          dv_j = sum_i P_ij do_i            (i ascending)
// P_ij = e^(scale <q_i, k_j> - lse_i) is recomputed from the forward's log-sum-exp (texel loads
// the op makes anyway, instead of per-lane buffer loads of probs on lavapipe), and
// dS_ij = P_ij (<do_i, v_j> - <do_i, o_i>); the two halves share nothing and each output element
// has exactly one writer. Causal: pairs with j > i are skipped (P = 0).
#include "common.glsl"

const uint R = 4;  // = rl::kAttentionRows
layout(constant_id = 1) const uint DH4 = 1;  // head width / 4

layout(binding = 0, rgba32f) uniform readonly imageBuffer QKV;  // [N, 3D/4] texels: q | k | v
layout(binding = 1, rgba32f) uniform readonly imageBuffer O;    // [N, D/4]
layout(binding = 2, rgba32f) uniform readonly imageBuffer DO;   // [N, D/4]
layout(binding = 3, rgba32f) uniform readonly imageBuffer LSE;  // [B H T] texels: (log-sum-exp, 0, 0, 0)
layout(std430, binding = 4) writeonly buffer DQKV { vec4 dqkv[]; };  // [N, 3D/4]

// Mirrors rl::AttentionParams.
layout(push_constant) uniform P {
  uint B, T, H, DH;
  uint causal;
  float scale;
} p;

float hsum(const vec4 v) { return (v.x + v.y) + (v.z + v.w); }

void queryTile(const uint bh, const uint i0) {
  const uint h = bh % p.H, b = bh / p.H;
  const uint D4 = p.H * DH4, row4 = 3u * D4;
  const int q0 = int(b * p.T * row4 + h * DH4), k0 = q0 + int(D4), v0 = q0 + 2 * int(D4);
  const int o0 = int(b * p.T * D4 + h * DH4);
  const bool causal = p.causal != 0u;
  const uint keys = causal ? min(i0 + R, p.T) : p.T;

  vec4 q[R][DH4], dO[R][DH4], acc[R][DH4];
  float Dl[R], lse[R];
  [[unroll]] for (uint r = 0; r < R; ++r) {
    const uint i = min(i0 + r, p.T - 1u);
    vec4 dl = vec4(0.0);
    [[unroll]] for (uint c = 0; c < DH4; ++c) {
      q[r][c] = p.scale * imageLoad(QKV, q0 + int(i * row4 + c));
      dO[r][c] = imageLoad(DO, o0 + int(i * D4 + c));
      dl += dO[r][c] * imageLoad(O, o0 + int(i * D4 + c));
      acc[r][c] = vec4(0.0);
    }
    Dl[r] = hsum(dl);
    lse[r] = imageLoad(LSE, int(bh * p.T + i)).x;
  }
  for (uint j = 0; j < keys; ++j) {
    vec4 k[DH4], v[DH4];
    [[unroll]] for (uint c = 0; c < DH4; ++c) {
      k[c] = imageLoad(QKV, k0 + int(j * row4 + c));
      v[c] = imageLoad(QKV, v0 + int(j * row4 + c));
    }
    [[unroll]] for (uint r = 0; r < R; ++r) {
      if (causal && j > i0 + r) continue;
      vec4 s = vec4(0.0), dp = vec4(0.0);
      [[unroll]] for (uint c = 0; c < DH4; ++c) {
        s += q[r][c] * k[c];
        dp += dO[r][c] * v[c];
      }
      const float ds = exp(hsum(s) - lse[r]) * (hsum(dp) - Dl[r]);
      [[unroll]] for (uint c = 0; c < DH4; ++c) acc[r][c] += ds * k[c];
    }
  }
  [[unroll]] for (uint r = 0; r < R; ++r) {
    if (i0 + r >= p.T) break;
    const uint out0 = (b * p.T + i0 + r) * row4 + h * DH4;
    [[unroll]] for (uint c = 0; c < DH4; ++c) dqkv[out0 + c] = p.scale * acc[r][c];
  }
}

void keyTile(const uint bh, const uint j0) {
  const uint h = bh % p.H, b = bh / p.H;
  const uint D4 = p.H * DH4, row4 = 3u * D4;
  const int q0 = int(b * p.T * row4 + h * DH4), k0 = q0 + int(D4), v0 = q0 + 2 * int(D4);
  const int o0 = int(b * p.T * D4 + h * DH4);
  const bool causal = p.causal != 0u;
  const uint first = causal ? j0 : 0u;

  vec4 k[R][DH4], v[R][DH4], dk[R][DH4], dv[R][DH4];
  [[unroll]] for (uint r = 0; r < R; ++r) {
    const uint j = min(j0 + r, p.T - 1u);
    [[unroll]] for (uint c = 0; c < DH4; ++c) {
      k[r][c] = imageLoad(QKV, k0 + int(j * row4 + c));
      v[r][c] = imageLoad(QKV, v0 + int(j * row4 + c));
      dk[r][c] = vec4(0.0);
      dv[r][c] = vec4(0.0);
    }
  }
  for (uint i = first; i < p.T; ++i) {
    vec4 q[DH4], dO[DH4];
    vec4 dl = vec4(0.0);
    [[unroll]] for (uint c = 0; c < DH4; ++c) {
      q[c] = p.scale * imageLoad(QKV, q0 + int(i * row4 + c));
      dO[c] = imageLoad(DO, o0 + int(i * D4 + c));
      dl += dO[c] * imageLoad(O, o0 + int(i * D4 + c));
    }
    const float Dl = hsum(dl), lse = imageLoad(LSE, int(bh * p.T + i)).x;
    [[unroll]] for (uint r = 0; r < R; ++r) {
      if (causal && i < j0 + r) continue;
      vec4 s = vec4(0.0), dp = vec4(0.0);
      [[unroll]] for (uint c = 0; c < DH4; ++c) {
        s += q[c] * k[r][c];
        dp += dO[c] * v[r][c];
      }
      const float P = exp(hsum(s) - lse);
      const float ds = P * (hsum(dp) - Dl);
      [[unroll]] for (uint c = 0; c < DH4; ++c) {
        dk[r][c] += ds * q[c];  // q carries the scale
        dv[r][c] += P * dO[c];
      }
    }
  }
  [[unroll]] for (uint r = 0; r < R; ++r) {
    if (j0 + r >= p.T) break;
    const uint out0 = (b * p.T + j0 + r) * row4 + h * DH4;
    [[unroll]] for (uint c = 0; c < DH4; ++c) {
      dqkv[out0 + D4 + c] = dk[r][c];
      dqkv[out0 + 2u * D4 + c] = dv[r][c];
    }
  }
}

void main() {
  const uint tiles = (p.T + R - 1u) / R;
  const uint half_ = p.B * p.H * tiles;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint item = gl_GlobalInvocationID.x; item < 2u * half_; item += stride) {
    const uint t = item < half_ ? item : item - half_;
    if (item < half_)
      queryTile(t / tiles, (t % tiles) * R);
    else
      keyTile(t / tiles, (t % tiles) * R);
  }
}
