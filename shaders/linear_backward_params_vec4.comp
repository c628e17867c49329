#version 450
// dZ = dY (.) act'(Z);  dW[G,O,I] += dZ^T . X;  db[G,O] += sum_m dZ (= with OVERWRITE).  (engine/ops/linear.h)
// Variant for I % 4 == 0 and O % 4 == 0: dY, Z and X are read as rgba32f texel buffers. One
// invocation: one 8 x 8 tile of one group (workgroup y); see linear_backward_params_vec4.glsl.
#include "common.glsl"
#include "activation.glsl"

layout(binding = 0, rgba32f) uniform readonly imageBuffer DY;  // [G, M, O/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer Z;   // [G, M, O/4] texels
layout(binding = 2, rgba32f) uniform readonly imageBuffer X;   // [G, M, I/4] texels
layout(std430, binding = 3) buffer DW { vec4 dw[]; };          // [G, O, I/4]
layout(std430, binding = 4) buffer DB { vec4 db[]; };          // [G, O/4]; may alias DW when hasBias == 0 (never touched then)

layout(std430, binding = 5) readonly buffer RowMask { int rowMask[]; };  // [G, M]; read only with p.maskRows

// The activation code as a specialisation constant (equal to p.act): each pipeline is compiled for one
// activation, so the inner loops carry no branches over activations.
layout(constant_id = 1) const uint ACT = 0;
// rl::GradWrite: 0 adds into dW and db, 1 writes them (the step's first writer; no zeroing dispatch).
layout(constant_id = 2) const uint OVERWRITE = 0;

// Mirrors rl::LinearParams (in/out renamed: GLSL keywords).
layout(push_constant) uniform P {
  uint groups, rows, inputs, outputs, act, accumulate, hasBias, maskRows;
} p;

#include "linear_rows.glsl"

#include "linear_backward_params_vec4.glsl"

void main() {
  if (gl_GlobalInvocationID.x >= paramsTileCount() || gl_WorkGroupID.y >= p.groups) return;
  paramsTile(gl_WorkGroupID.y, gl_GlobalInvocationID.x);
}
