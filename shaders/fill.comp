#version 450
// fill: x[i] = value for i < n. Invocation g writes words g, g + stride, ... (4 per invocation),
// so neighbouring lanes touch neighbouring words.
#include "common.glsl"

layout(std430, binding = 0) buffer X { float x[]; };
layout(push_constant) uniform P {
  uint n;
  float value;
} p;

void main() {
  uint g = gl_GlobalInvocationID.x;
  if (g >= p.n) return;
  uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = g; i < p.n; i += stride) x[i] = p.value;
}
