#version 450
// Combine backward (both halves, as combine_backward.comp) for D % 4 == 0: dy and oe are read as
// rgba32f texel buffers and doe is written a vec4 at a time. Twin of CombineBackward::runCpu
// (engine/ops/combine.cpp). N tokens, D features, k choices, S slots. Work item i < S: slot row i
// of doe (empty slots not written); i >= S: gate weight c = i - S of dwt (features ascending, one
// at a time, as on the CPU). Invocations stride over the items (lavapipe pays per workgroup).
#include "common.glsl"
#include "activation.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer Dy;  // [N, D/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer Oe;  // [S, D/4] texels
layout(std430, binding = 2) readonly buffer Slot { int slot[]; };
layout(std430, binding = 3) readonly buffer SlotAssign { int slotAssign[]; };
layout(std430, binding = 4) readonly buffer Wt { float wt[]; };
layout(std430, binding = 5) writeonly buffer Doe { vec4 doe[]; };  // [S, D/4]
layout(std430, binding = 6) writeonly buffer Dwt { float dwt[]; };

// rl::Activation of the experts' output whose derivative the expert rows apply (0: none); see
// engine/ops/combine.h. act'(z) from y: ReLU [y > 0] (rl_act_grad tests its first argument > 0,
// and y > 0 exactly when z > 0), tanh 1 - y^2, sigmoid y (1 - y).
layout(constant_id = 1) const uint ACT = 0;

layout(push_constant) uniform P {
  uint N, D, k, S;
} p;

void expertRow(const uint s, const uint D4) {
  const int a = slotAssign[s];
  if (a < 0) return;
  const float w = wt[a];
  const int in0 = int((uint(a) / p.k) * D4);
  const uint out0 = s * D4;
  for (uint d4 = 0u; d4 < D4; ++d4) {
    vec4 g = w * imageLoad(Dy, in0 + int(d4));
    if (ACT != RL_ACT_NONE) {  // the experts' output activation, folded in: act' from the output
      const vec4 o = imageLoad(Oe, int(out0 + d4));
      g *= vec4(rl_act_grad(ACT, o.x, o.x), rl_act_grad(ACT, o.y, o.y), rl_act_grad(ACT, o.z, o.z), rl_act_grad(ACT, o.w, o.w));
    }
    doe[out0 + d4] = g;
  }
}

void gateWeight(const uint c, const uint D4) {
  const int s = slot[c];
  float dot = 0.0;
  if (s >= 0) {
    const int g0 = int((c / p.k) * D4), o0 = s * int(D4);
    for (int d4 = 0; d4 < int(D4); ++d4) {
      const vec4 g = imageLoad(Dy, g0 + d4), o = imageLoad(Oe, o0 + d4);
      dot += g.x * o.x;
      dot += g.y * o.y;
      dot += g.z * o.z;
      dot += g.w * o.w;
    }
  }
  dwt[c] = dot;
}

void main() {
  const uint items = p.S + p.N * p.k, D4 = p.D / 4u;
  if (gl_GlobalInvocationID.x >= items) return;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < items; i += stride) {
    if (i < p.S)
      expertRow(i, D4);
    else
      gateWeight(i - p.S, D4);
  }
}
