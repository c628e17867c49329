#version 450
// dZ = dY (.) act'(Z);  dW[G,O,I] += dZ^T . X;  db[G,O] += sum_m dZ (= with OVERWRITE).  (engine/ops/linear.h)
// Variant for O % 4 == 0 with I % 4 != 0 (e.g. an expert's first layer, or a router, on 2-D inputs):
// dY and Z are read as rgba32f texel buffers, X as floats. One invocation: 8 outputs (2 texels, the
// second clamped and not written at an odd edge) x TILE inputs (clamped at the edge) of one group
// (workgroup y), rows m ascending: per row 4 texel loads and TILE float loads for 8 TILE
// multiply-adds (the scalar shader: 12 float loads for 16). The tiles of the first inputs also own db.
#include "common.glsl"
#include "activation.glsl"

const uint TILE = 4;  // inputs per invocation: rl::kLinearTile

layout(binding = 0, rgba32f) uniform readonly imageBuffer DY;  // [G, M, O/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer Z;   // [G, M, O/4] texels
layout(std430, binding = 2) readonly buffer X { float x[]; };  // [G, M, I]
layout(std430, binding = 3) buffer DW { float dw[]; };         // [G, O, I]
layout(std430, binding = 4) buffer DB { vec4 db[]; };          // [G, O/4]; may alias DW when hasBias == 0 (never touched then)

layout(std430, binding = 5) readonly buffer RowMask { int rowMask[]; };  // [G, M]; read only with p.maskRows

layout(constant_id = 1) const uint ACT = 0;        // = p.act (rl::Activation)
layout(constant_id = 2) const uint OVERWRITE = 0;  // rl::GradWrite: 0 adds into dW and db, 1 writes them

// Mirrors rl::LinearParams (in/out renamed: GLSL keywords).
layout(push_constant) uniform P {
  uint groups, rows, inputs, outputs, act, accumulate, hasBias, maskRows;
} p;

#include "linear_rows.glsl"

uint colTiles() { return (p.inputs + TILE - 1) / TILE; }
uint tileCount() { return ((p.outputs / 4 + 1) / 2) * colTiles(); }

void main() {
  if (gl_GlobalInvocationID.x >= tileCount() || gl_WorkGroupID.y >= p.groups) return;
  const uint g = gl_WorkGroupID.y;
  const uint I = p.inputs, O4 = p.outputs / 4;
  // Output texels oa, ob (at an odd edge ob == oa) and inputs i0 .. i0 + TILE - 1 (clamped).
  const uint oa = 2u * (gl_GlobalInvocationID.x / colTiles()), ob = min(oa + 1u, O4 - 1u);
  const uint i0 = (gl_GlobalInvocationID.x % colTiles()) * TILE;
  uint xCol[TILE];
  [[unroll]] for (uint t = 0; t < TILE; ++t) xCol[t] = min(i0 + t, I - 1);

  vec4 accA[TILE], accB[TILE];  // [input t][4 outputs of texel a / b]
  [[unroll]] for (uint t = 0; t < TILE; ++t) {
    accA[t] = vec4(0.0);
    accB[t] = vec4(0.0);
  }
  vec4 biasA = vec4(0.0), biasB = vec4(0.0);
  const int zBase = int(g * p.rows * O4);
  const uint rows = activeRows(g);  // all p.rows, or the masked prefix
  for (uint m = 0; m < rows; ++m) {
    const int zr = zBase + int(m * O4);
    const uint xr = inputRow(g, m) * I;
    const vec4 dzA = rl_act_backward4(ACT, imageLoad(DY, zr + int(oa)), imageLoad(Z, zr + int(oa)));
    const vec4 dzB = rl_act_backward4(ACT, imageLoad(DY, zr + int(ob)), imageLoad(Z, zr + int(ob)));
    [[unroll]] for (uint t = 0; t < TILE; ++t) {
      const float xm = x[xr + xCol[t]];
      accA[t] += xm * dzA;
      accB[t] += xm * dzB;
    }
    biasA += dzA;
    biasB += dzB;
  }
  [[unroll]] for (uint j = 0; j < 8; ++j) {
    if (j >= 4 && ob == oa) break;
    const uint row = (g * p.outputs + 4 * (j < 4 ? oa : ob) + (j & 3u)) * I;
    [[unroll]] for (uint t = 0; t < TILE; ++t) {
      if (i0 + t >= I) break;
      const float v = j < 4 ? accA[t][j & 3u] : accB[t][j & 3u];
      dw[row + i0 + t] = (OVERWRITE != 0u ? 0.0 : dw[row + i0 + t]) + v;
    }
  }
  if (p.hasBias != 0u && i0 == 0u) {
    db[g * O4 + oa] = (OVERWRITE != 0u ? vec4(0.0) : db[g * O4 + oa]) + biasA;
    if (ob != oa) db[g * O4 + ob] = (OVERWRITE != 0u ? vec4(0.0) : db[g * O4 + ob]) + biasB;
  }
}
