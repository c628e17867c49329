#version 450
// dZ = dY (.) act'(Z);  dX[G,M,I] (= or +=) dZ[G,M,O] . W[G,O,I].  (engine/ops/linear.h)
// Variant for I % 4 == 0 and O % 4 == 0: dY, Z and W are read as rgba32f texel buffers. One
// invocation: tiles of ROWS rows x 4 inputs of one group (workgroup y); see linear_backward_input_vec4.glsl.
#include "common.glsl"
#include "activation.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer DY;  // [G, M, O/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer Z;   // [G, M, O/4] texels
layout(binding = 2, rgba32f) uniform readonly imageBuffer W;   // [G, O, I/4] texels
layout(std430, binding = 3) buffer DX { vec4 dx[]; };          // [G, M, I/4]

layout(std430, binding = 4) readonly buffer RowMask { int rowMask[]; };  // [G, M]; read only with p.maskRows

// The activation code as a specialisation constant (equal to p.act): each pipeline is compiled for one
// activation, so the inner loops carry no branches over activations.
layout(constant_id = 1) const uint ACT = 0;

// Mirrors rl::LinearParams (in/out renamed: GLSL keywords).
layout(push_constant) uniform P {
  uint groups, rows, inputs, outputs, act, accumulate, hasBias, maskRows;
} p;

#include "linear_rows.glsl"

#include "linear_backward_input_vec4.glsl"

void main() {
  if (gl_WorkGroupID.y >= p.groups) return;
  inputTiles(gl_WorkGroupID.y, gl_GlobalInvocationID.x, gl_NumWorkGroups.x * gl_WorkGroupSize.x);
}
