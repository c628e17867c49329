#version 450
// Fused softmax cross-entropy, forward and backward (engine/ops/losses.h). One workgroup: lane l
// owns rows l, l + L, l + 2L, ... (ascending), then a fixed-order tree sums the lanes' partials.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Logits { float logits[]; };
layout(std430, binding = 1) readonly buffer Labels { int labels[]; };
layout(std430, binding = 2) writeonly buffer DLogits { float dlogits[]; };
layout(std430, binding = 3) writeonly buffer Out { float outv[]; };  // [loss, correct]

// Mirrors rl::CrossEntropyParams.
layout(push_constant) uniform P {
  uint rows, classes;
  float scale;
} p;

shared float partialLoss[gl_WorkGroupSize.x];
shared float partialCorrect[gl_WorkGroupSize.x];

void main() {
  if (gl_WorkGroupID.x != 0u) return;  // a single workgroup owns the whole reduction
  const uint lane = gl_LocalInvocationID.x, C = p.classes;
  const float gradScale = p.rows > 0u ? p.scale / float(p.rows) : 0.0;
  float loss = 0.0, correct = 0.0;
  for (uint n = lane; n < p.rows; n += gl_WorkGroupSize.x) {
    const uint base = n * C;
    uint best = 0u;
    for (uint c = 1u; c < C; ++c)
      if (logits[base + c] > logits[base + best]) best = c;
    const float mx = logits[base + best];
    float sum = 0.0;
    for (uint c = 0u; c < C; ++c) sum += exp(logits[base + c] - mx);
    const int label = labels[n];
    if (label < 0 || uint(label) >= C) {  // ignored row
      for (uint c = 0u; c < C; ++c) dlogits[base + c] = 0.0;
      continue;
    }
    loss += mx + log(sum) - logits[base + uint(label)];
    correct += best == uint(label) ? 1.0 : 0.0;
    const float probScale = gradScale / sum;
    for (uint c = 0u; c < C; ++c)
      dlogits[base + c] = exp(logits[base + c] - mx) * probScale - (c == uint(label) ? gradScale : 0.0);
  }
  partialLoss[lane] = loss;
  partialCorrect[lane] = correct;
  barrier();
  for (uint half_ = gl_WorkGroupSize.x / 2u; half_ > 0u; half_ /= 2u) {
    if (lane < half_) {
      partialLoss[lane] += partialLoss[lane + half_];
      partialCorrect[lane] += partialCorrect[lane + half_];
    }
    barrier();
  }
  if (lane == 0u) {
    outv[0] = p.rows > 0u ? partialLoss[0] / float(p.rows) : 0.0;
    outv[1] = partialCorrect[0];
  }
}
