#version 450
// A linear layer without activation and the softmax cross-entropy of its output, in one dispatch
// of one workgroup (engine/ops/linear_loss.h, LinearSoftmaxCrossEntropy), for I % 4 == 0 and
// C % 4 == 0:
//   logits[N,C] = X[N,I] . W[C,I]^T + b[C]        (as linear_forward_vec4.comp)
//   out[0] = mean loss, out[1] = #correct, dlogits = scale (softmax - onehot) / N   (as softmax_cross_entropy.comp)
// Each invocation owns whole row tiles (ROWS rows x all C classes, strided over the lanes), so a
// row's logits are in its registers when its loss and gradient are computed. Per-lane loss and
// correct counts meet after one barrier; lane 0 adds them in lane order (deterministic).
// With COMBINE_K > 0 the layer's input is an MoE combine, computed here (as combine_forward_vec4):
// x[n,:] = sum_j wt[n,j] oe[slot[n,j],:] over the COMBINE_K choices (j ascending, dropped ones
// skipped); X is then oe [S, I/4] and the rows are also written to Xout for the backward.
#include "common.glsl"

const uint ROWS = 8;  // = rl::kLinearVecRows

layout(binding = 0, rgba32f) uniform readonly imageBuffer X;  // [N, I/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer W;  // [C, I/4] texels
layout(std430, binding = 2) readonly buffer B { vec4 b[]; };   // [C/4]; read only with hasBias
layout(std430, binding = 3) writeonly buffer Logits { vec4 logits[]; };  // [N, C/4]
layout(std430, binding = 4) readonly buffer Labels { int labels[]; };
layout(std430, binding = 5) writeonly buffer DLogits { vec4 dlogits[]; };  // [N, C/4]
layout(std430, binding = 6) writeonly buffer Out { float outv[]; };  // [loss, correct]

// Combine input (COMBINE_K > 0 only; otherwise bound to any tensor and never read or written).
layout(std430, binding = 7) readonly buffer Slot { int slot[]; };    // [N, COMBINE_K]
layout(std430, binding = 8) readonly buffer Wt { float wt[]; };      // [N, COMBINE_K]
layout(std430, binding = 9) writeonly buffer Xout { vec4 xout[]; };  // [N, I/4]: the combined rows

layout(constant_id = 1) const uint CLASS_TEXELS = 1;  // = C / 4
layout(constant_id = 2) const uint COMBINE_K = 0;     // 0: X is the input itself

// Mirrors rl::LinearLossParams: rl::LinearParams (groups 1, act none, no row mask), then
// rl::CrossEntropyParams (rows = N, classes = C) and a padding word.
layout(push_constant) uniform P {
  uint groups, rows, inputs, outputs, act, accumulate, hasBias, maskRows;
  uint ceRows, classes;
  float scale;
  uint pad;
} p;

shared float partialLoss[gl_WorkGroupSize.x];
shared float partialCorrect[gl_WorkGroupSize.x];

void main() {
  const uint lane = gl_LocalInvocationID.x, N = p.rows, I4 = p.inputs / 4u;
  const float gradScale = N > 0u ? p.scale / float(N) : 0.0;
  float loss = 0.0, correct = 0.0;
  if (gl_WorkGroupID.x == 0u) {
    for (uint r0 = lane * ROWS; r0 < N; r0 += gl_WorkGroupSize.x * ROWS) {
      int xRow[ROWS];
      [[unroll]] for (uint t = 0; t < ROWS; ++t) xRow[t] = int(min(r0 + t, N - 1u) * I4);
      // Combine input: each row's choices (slot texel row, weight), read once per tile.
      int cRow[ROWS * (COMBINE_K > 0u ? COMBINE_K : 1u)];
      float cWt[ROWS * (COMBINE_K > 0u ? COMBINE_K : 1u)];
      if (COMBINE_K > 0u)
        [[unroll]] for (uint t = 0; t < ROWS; ++t)
          [[unroll]] for (uint j = 0; j < COMBINE_K; ++j) {
            const uint c = min(r0 + t, N - 1u) * COMBINE_K + j;
            const int s = slot[c];
            cRow[t * COMBINE_K + j] = s < 0 ? -1 : s * int(I4);
            cWt[t * COMBINE_K + j] = wt[c];
          }
      vec4 z[ROWS][CLASS_TEXELS];
      [[unroll]] for (uint c4 = 0; c4 < CLASS_TEXELS; ++c4) {
        const vec4 bias = p.hasBias != 0u ? b[c4] : vec4(0.0);
        [[unroll]] for (uint t = 0; t < ROWS; ++t) z[t][c4] = vec4(0.0);
        for (int k = 0; k < int(I4); ++k) {
          vec4 xk[ROWS], wk[4];
          if (COMBINE_K == 0u) {
            [[unroll]] for (uint t = 0; t < ROWS; ++t) xk[t] = imageLoad(X, xRow[t] + k);
          } else {
            [[unroll]] for (uint t = 0; t < ROWS; ++t) {
              vec4 sum = vec4(0.0);
              [[unroll]] for (uint j = 0; j < COMBINE_K; ++j)
                if (cRow[t * COMBINE_K + j] >= 0) sum += cWt[t * COMBINE_K + j] * imageLoad(X, cRow[t * COMBINE_K + j] + k);
              xk[t] = sum;
              if (c4 == 0u && r0 + t < N) xout[(r0 + t) * I4 + uint(k)] = sum;
            }
          }
          [[unroll]] for (uint c = 0; c < 4; ++c) wk[c] = imageLoad(W, int((4u * c4 + c) * I4) + k);
          [[unroll]] for (uint t = 0; t < ROWS; ++t)
            z[t][c4] += vec4(dot(xk[t], wk[0]), dot(xk[t], wk[1]), dot(xk[t], wk[2]), dot(xk[t], wk[3]));
        }
        [[unroll]] for (uint t = 0; t < ROWS; ++t) z[t][c4] += bias;
      }
      [[unroll]] for (uint t = 0; t < ROWS; ++t) {
        const uint n = r0 + t;
        if (n >= N) break;
        [[unroll]] for (uint c4 = 0; c4 < CLASS_TEXELS; ++c4) logits[n * CLASS_TEXELS + c4] = z[t][c4];
        // Softmax cross-entropy of row n, as softmax_cross_entropy.comp (ties: lowest class).
        uint best = 0u;
        float mx = z[t][0].x;
        [[unroll]] for (uint c = 1u; c < 4u * CLASS_TEXELS; ++c)
          if (z[t][c / 4u][c % 4u] > mx) {
            mx = z[t][c / 4u][c % 4u];
            best = c;
          }
        float sum = 0.0;
        [[unroll]] for (uint c4 = 0; c4 < CLASS_TEXELS; ++c4) {
          const vec4 e = exp(z[t][c4] - mx);
          sum += e.x;
          sum += e.y;
          sum += e.z;
          sum += e.w;
        }
        const int label = labels[n];
        if (label < 0 || uint(label) >= 4u * CLASS_TEXELS) {  // ignored row
          [[unroll]] for (uint c4 = 0; c4 < CLASS_TEXELS; ++c4) dlogits[n * CLASS_TEXELS + c4] = vec4(0.0);
          continue;
        }
        float zl = 0.0;
        [[unroll]] for (uint c = 0u; c < 4u * CLASS_TEXELS; ++c)
          if (c == uint(label)) zl = z[t][c / 4u][c % 4u];
        loss += mx + log(sum) - zl;
        correct += best == uint(label) ? 1.0 : 0.0;
        const float probScale = gradScale / sum;
        [[unroll]] for (uint c4 = 0; c4 < CLASS_TEXELS; ++c4) {
          vec4 d = exp(z[t][c4] - mx) * probScale;
          [[unroll]] for (uint c = 0u; c < 4u; ++c)
            if (4u * c4 + c == uint(label)) d[c] -= gradScale;
          dlogits[n * CLASS_TEXELS + c4] = d;
        }
      }
    }
  }
  partialLoss[lane] = loss;
  partialCorrect[lane] = correct;
  barrier();
  if (lane != 0u || gl_WorkGroupID.x != 0u) return;
  float totalLoss = 0.0, totalCorrect = 0.0;
  for (uint l = 0u; l < gl_WorkGroupSize.x; ++l) {
    totalLoss += partialLoss[l];
    totalCorrect += partialCorrect[l];
  }
  outv[0] = N > 0u ? totalLoss / float(N) : 0.0;
  outv[1] = totalCorrect;
}
