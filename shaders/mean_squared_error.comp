#version 450
// Fused mean squared error, forward and backward (engine/ops/losses.h). One workgroup: lane l
// owns rows l, l + L, l + 2L, ... (ascending), then a fixed-order tree sums the lanes' partials.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Pred { float pred[]; };
layout(std430, binding = 1) readonly buffer Target { float target[]; };
layout(std430, binding = 2) readonly buffer Labels { int labels[]; };  // read only when classify
layout(std430, binding = 3) writeonly buffer DPred { float dpred[]; };
layout(std430, binding = 4) writeonly buffer Out { float outv[]; };  // [loss, correct]

// Mirrors rl::MseParams.
layout(push_constant) uniform P {
  uint rows, features, classify;
  float scale;
} p;

shared float partialLoss[gl_WorkGroupSize.x];
shared float partialCorrect[gl_WorkGroupSize.x];

void main() {
  if (gl_WorkGroupID.x != 0u) return;  // a single workgroup owns the whole reduction
  const uint lane = gl_LocalInvocationID.x, D = p.features;
  const float gradScale = p.rows > 0u ? 2.0 * p.scale / float(p.rows) : 0.0;
  float loss = 0.0, correct = 0.0;
  for (uint n = lane; n < p.rows; n += gl_WorkGroupSize.x) {
    const uint base = n * D;
    float rowLoss = 0.0;
    uint best = 0u;
    for (uint d = 0u; d < D; ++d) {
      const float diff = pred[base + d] - target[base + d];
      rowLoss += diff * diff;
      dpred[base + d] = gradScale * diff;
      if (pred[base + d] > pred[base + best]) best = d;
    }
    loss += rowLoss;
    if (p.classify != 0u && int(best) == labels[n]) correct += 1.0;
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
