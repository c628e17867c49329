#version 450
// Competitive loss (Jacobs et al. 1991), forward and backward, in one workgroup of 256.
// Twin of CompetitiveLoss::runCpu (engine/ops/competitive_loss.cpp), which states the formulas.
// N tokens, D features, k choices per token, S slots. Phase 1 zeroes doe (empty slots stay 0);
// phase 2 gives rows t, t+256, ... to invocation t, which writes its choices' slots of doe (each
// slot has one occupant) and its rows of dwt; the loss partial sums meet in a fixed tree.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Oe { float oe[]; };
layout(std430, binding = 1) readonly buffer Slot { int slot[]; };
layout(std430, binding = 2) readonly buffer Wt { float wt[]; };
layout(std430, binding = 3) readonly buffer Target { float target[]; };
layout(std430, binding = 4) buffer Doe { float doe[]; };
layout(std430, binding = 5) buffer Dwt { float dwt[]; };
layout(std430, binding = 6) writeonly buffer Out { float outLoss[]; };

layout(push_constant) uniform P {
  uint N, D, k, S;
  float scale;
} p;

const uint kThreads = 256u;  // = CompetitiveLoss::kThreads = local size
shared float partLoss[kThreads];

void main() {
  if (gl_WorkGroupID.x != 0u) return;  // one workgroup; the whole group leaves together
  uint t = gl_LocalInvocationID.x, D = p.D, k = p.k;
  float g = p.scale / float(p.N);

  for (uint i = t; i < p.S * D; i += kThreads) doe[i] = 0.0;
  memoryBarrierBuffer();
  barrier();

  float lossSum = 0.0;
  for (uint n = t; n < p.N; n += kThreads) {
    uint c0 = n * k;
    // dwt holds the half squared distances until the last pass.
    float m = -1.0 / 0.0;
    for (uint j = 0u; j < k; ++j) {
      int s = slot[c0 + j];
      if (s < 0) continue;
      float d = 0.0;
      for (uint f = 0u; f < D; ++f) {
        float diff = target[n * D + f] - oe[uint(s) * D + f];
        d += diff * diff;
      }
      d *= 0.5;
      dwt[c0 + j] = d;
      float w = wt[c0 + j];
      if (w > 0.0) m = max(m, log(w) - d);
    }
    if (isinf(m)) {  // nothing left in the mixture
      for (uint j = 0u; j < k; ++j) dwt[c0 + j] = 0.0;
      continue;
    }
    float sum = 0.0;
    for (uint j = 0u; j < k; ++j) {
      float w = wt[c0 + j];
      if (slot[c0 + j] >= 0 && w > 0.0) sum += exp(log(w) - dwt[c0 + j] - m);
    }
    float loss = -(m + log(sum));
    lossSum += loss;
    for (uint j = 0u; j < k; ++j) {
      int s = slot[c0 + j];
      if (s < 0) {
        dwt[c0 + j] = 0.0;
        continue;
      }
      float r = exp(loss - dwt[c0 + j]);
      float post = g * wt[c0 + j] * r;
      for (uint f = 0u; f < D; ++f) {
        uint o = uint(s) * D + f;
        doe[o] = post * (oe[o] - target[n * D + f]);
      }
      dwt[c0 + j] = -g * r;
    }
  }

  partLoss[t] = lossSum;
  barrier();
  for (uint stride = kThreads / 2u; stride > 0u; stride /= 2u) {
    if (t < stride) partLoss[t] += partLoss[t + stride];
    barrier();
  }
  if (t == 0u) outLoss[0] = partLoss[0] / float(p.N);
}
