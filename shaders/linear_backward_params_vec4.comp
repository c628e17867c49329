#version 450
// dZ = dY (.) act'(Z);  dW[G,O,I] += dZ^T . X;  db[G,O] += sum_m dZ.  (engine/ops/linear.h)
// Variant for I % 4 == 0 and O % 4 == 0: dY, Z and X are read as rgba32f texel buffers. One
// invocation: 4 outputs x 4 inputs of one group (workgroup y), rows m ascending; the invocations of
// the first input texel also own db for their 4 outputs.
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

// Mirrors rl::LinearParams (in/out renamed: GLSL keywords).
layout(push_constant) uniform P {
  uint groups, rows, inputs, outputs, act, accumulate, hasBias, maskRows;
} p;

#include "linear_rows.glsl"

uint colTiles() { return p.inputs / 4; }
uint tileCount() { return (p.outputs / 4) * colTiles(); }

void main() {
  if (gl_GlobalInvocationID.x >= tileCount() || gl_WorkGroupID.y >= p.groups) return;
  const uint g = gl_WorkGroupID.y;
  const uint o4 = gl_GlobalInvocationID.x / colTiles();  // output texel: outputs 4 o4 .. 4 o4 + 3
  const uint i4 = gl_GlobalInvocationID.x % colTiles();  // input texel
  const uint I4 = p.inputs / 4, O4 = p.outputs / 4;

  vec4 acc[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
  vec4 biasAcc = vec4(0.0);
  const int zBase = int(g * p.rows * O4 + o4), xBase = int(g * p.rows * I4 + i4);
  const int rows = int(activeRows(g));  // all p.rows, or the masked prefix
  for (int m = 0; m < rows; ++m) {
    const vec4 dz = rl_act_backward4(ACT, imageLoad(DY, zBase + m * int(O4)), imageLoad(Z, zBase + m * int(O4)));
    const vec4 xm = imageLoad(X, xBase + m * int(I4));
    acc[0] += dz.x * xm;
    acc[1] += dz.y * xm;
    acc[2] += dz.z * xm;
    acc[3] += dz.w * xm;
    biasAcc += dz;
  }
  [[unroll]] for (uint j = 0; j < 4; ++j) dw[(g * p.outputs + 4 * o4 + j) * I4 + i4] += acc[j];
  if (p.hasBias != 0u && i4 == 0u) db[g * O4 + o4] += biasAcc;
}
