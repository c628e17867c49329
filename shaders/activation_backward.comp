#version 450
// dz = dy * act'(z) over `count` floats (engine/ops/activation_backward.h). Work item i = floats
// 4i .. 4i+3 through vec4 views of the buffers; the last item is scalar when count is not a multiple
// of 4. Each element is read and written by one invocation, so dz may alias dy.
#include "common.glsl"
#include "activation.glsl"

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer Z { float z[]; };
layout(std430, binding = 2) writeonly buffer DZ { float dz[]; };
// The same ranges as vec4 (aliases of bindings 0..2).
layout(std430, binding = 0) readonly buffer DY4 { vec4 dy4[]; };
layout(std430, binding = 1) readonly buffer Z4 { vec4 z4[]; };
layout(std430, binding = 2) writeonly buffer DZ4 { vec4 dz4[]; };

// The activation as a specialisation constant: one pipeline per activation, no branches over it.
layout(constant_id = 1) const uint ACT = 0;

// Mirrors rl::ActivationBackwardParams.
layout(push_constant) uniform P {
  uint count;
  uint act;  // = ACT
} p;

void main() {
  const uint quads = p.count / 4u, items = (p.count + 3u) / 4u;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < items; i += stride) {
    if (i < quads) {
      dz4[i] = rl_act_backward4(ACT, dy4[i], z4[i]);
    } else {
      for (uint e = 4u * i; e < p.count; ++e) dz[e] = rl_act_backward(ACT, dy[e], z[e]);
    }
  }
}
