#version 450
// dZ = dY (.) act'(Z);  dW[G,O,I] += dZ^T . X;  db[G,O] += sum_m dZ (= with OVERWRITE).  (engine/ops/linear.h)
// One invocation: a TILE x TILE block of (outputs, inputs) of one group (workgroup y), rows m
// ascending; the invocations of the first input tile also own db for their outputs.
#include "common.glsl"
#include "activation.glsl"

const uint TILE = 4;  // = rl::kLinearTile

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer Z { float z[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) buffer DW { float dw[]; };
layout(std430, binding = 4) buffer DB { float db[]; };  // may alias DW when hasBias == 0 (never touched then)

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

uint colTiles() { return (p.inputs + TILE - 1) / TILE; }
uint tileCount() { return ((p.outputs + TILE - 1) / TILE) * colTiles(); }

void main() {
  if (gl_GlobalInvocationID.x >= tileCount() || gl_WorkGroupID.y >= p.groups) return;
  const uint g = gl_WorkGroupID.y;
  const uint o0 = (gl_GlobalInvocationID.x / colTiles()) * TILE;
  const uint i0 = (gl_GlobalInvocationID.x % colTiles()) * TILE;
  const uint I = p.inputs, O = p.outputs;

  uint zCol[TILE], xCol[TILE];
  [[unroll]] for (uint t = 0; t < TILE; ++t) {
    zCol[t] = g * p.rows * O + min(o0 + t, O - 1);
    xCol[t] = min(i0 + t, I - 1);
  }
  vec4 acc[TILE];
  [[unroll]] for (uint t = 0; t < TILE; ++t) acc[t] = vec4(0.0);
  vec4 biasAcc = vec4(0.0);
  const uint rows = activeRows(g);  // all p.rows, or the masked prefix
  for (uint m = 0; m < rows; ++m) {
    const uint zo = m * O, xo = inputRow(g, m) * I;
    vec4 xm = vec4(x[xCol[0] + xo], x[xCol[1] + xo], x[xCol[2] + xo], x[xCol[3] + xo]);
    vec4 dz;
    [[unroll]] for (uint t = 0; t < TILE; ++t) dz[t] = rl_act_backward(ACT, dy[zCol[t] + zo], z[zCol[t] + zo]);
    [[unroll]] for (uint t = 0; t < TILE; ++t) acc[t] += dz[t] * xm;
    biasAcc += dz;
  }
  [[unroll]] for (uint t = 0; t < TILE; ++t) {
    if (o0 + t >= O) break;
    const uint base = (g * O + o0 + t) * I + i0;
    [[unroll]] for (uint c = 0; c < TILE; ++c) {
      if (i0 + c >= I) break;
      dw[base + c] = (OVERWRITE != 0u ? 0.0 : dw[base + c]) + acc[t][c];
    }
    if (p.hasBias != 0u && i0 == 0u) db[g * O + o0 + t] = (OVERWRITE != 0u ? 0.0 : db[g * O + o0 + t]) + biasAcc[t];
  }
}
