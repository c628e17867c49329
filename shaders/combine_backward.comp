#version 450
// Combine backward, both halves in one dispatch. Twin of CombineBackward::runCpu
// (engine/ops/combine.cpp). N tokens, D features, k choices, S slots. Work item i < S: slot row i of
// doe (empty slots not written); i >= S: gate weight c = i - S of dwt (d ascending). Invocations
// stride over the items, so the grid may be smaller than their count (lavapipe pays per workgroup).
#include "common.glsl"
#include "activation.glsl"

layout(std430, binding = 0) readonly buffer Dy { float dy[]; };
layout(std430, binding = 1) readonly buffer Oe { float oe[]; };
layout(std430, binding = 2) readonly buffer Slot { int slot[]; };
layout(std430, binding = 3) readonly buffer SlotAssign { int slotAssign[]; };
layout(std430, binding = 4) readonly buffer Wt { float wt[]; };
layout(std430, binding = 5) writeonly buffer Doe { float doe[]; };
layout(std430, binding = 6) writeonly buffer Dwt { float dwt[]; };

// rl::Activation of the experts' output whose derivative the expert rows apply (0: none); see
// engine/ops/combine.h. act'(z) from y: ReLU [y > 0] (rl_act_grad tests its first argument > 0,
// and y > 0 exactly when z > 0), tanh 1 - y^2, sigmoid y (1 - y).
layout(constant_id = 1) const uint ACT = 0;

layout(push_constant) uniform P {
  uint N, D, k, S;
} p;

void expertRow(const uint s) {
  const int a = slotAssign[s];
  if (a < 0) return;
  const float w = wt[a];
  const uint in0 = (uint(a) / p.k) * p.D, out0 = s * p.D;
  for (uint d = 0u; d < p.D; ++d) {
    float g = w * dy[in0 + d];
    if (ACT != RL_ACT_NONE) g *= rl_act_grad(ACT, oe[out0 + d], oe[out0 + d]);  // folded output activation
    doe[out0 + d] = g;
  }
}

void gateWeight(const uint c) {
  const uint n = c / p.k;
  const int s = slot[c];
  float dot = 0.0;
  if (s >= 0)
    for (uint d = 0u; d < p.D; ++d) dot += dy[n * p.D + d] * oe[uint(s) * p.D + d];
  dwt[c] = dot;
}

void main() {
  const uint items = p.S + p.N * p.k;
  if (gl_GlobalInvocationID.x >= items) return;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < items; i += stride) {
    if (i < p.S)
      expertRow(i);
    else
      gateWeight(i - p.S);
  }
}
