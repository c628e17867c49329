#version 450
// Z[G,M,O] = X[G,M,I] . W[G,O,I]^T + b[G,O];  Y = act(Z).  (engine/ops/linear.h)
// Variant for O % 4 == 0 with I % 4 != 0 (e.g. an expert's first layer on 2-D inputs): X and W are
// read as floats (their rows are not texel-aligned), but b, Z and Y a vec4 at a time, so a tile of
// ROWS rows x 4 outputs stores 2 ROWS vec4s instead of 8 ROWS floats (on lavapipe every buffer
// access is a per-lane loop, so the stores were most of the scalar shader's time). k ascending.
#include "common.glsl"
#include "activation.glsl"

const uint ROWS = 8;  // = rl::kLinearVecRows

layout(std430, binding = 0) readonly buffer X { float x[]; };    // [G, M, I]
layout(std430, binding = 1) readonly buffer W { float w[]; };    // [G, O, I]
layout(std430, binding = 2) readonly buffer B { vec4 b[]; };     // [G, O/4]
layout(std430, binding = 3) writeonly buffer Z { vec4 z[]; };    // [G, M, O/4]; may be the same tensor as Y
layout(std430, binding = 4) writeonly buffer Y { vec4 y[]; };

layout(std430, binding = 5) readonly buffer RowMask { int rowMask[]; };  // [G, M]; read only with p.maskRows

layout(constant_id = 1) const uint ACT = 0;  // = p.act: one pipeline per activation, no branches over them
layout(constant_id = 2) const uint SEPARATE_Z = 1;  // 0: Z is the same tensor as Y (no activation or ReLU), stored once

// Mirrors rl::LinearParams (in/out renamed: GLSL keywords).
layout(push_constant) uniform P {
  uint groups, rows, inputs, outputs, act, accumulate, hasBias, maskRows;
} p;

#include "linear_rows.glsl"

uint colTiles() { return p.outputs / 4; }

// One tile: `index` counts tiles row-tile-major; `rows` = the group's rows (all, or the masked prefix).
void tile(const uint g, const uint index, const uint rows) {
  const uint r0 = (index / colTiles()) * ROWS;
  const uint c4 = index % colTiles();  // output texel: outputs 4 c4 .. 4 c4 + 3
  const uint I = p.inputs, O4 = p.outputs / 4;

  uint xRow[ROWS];  // edge tiles read a clamped (valid) row and skip it when writing
  [[unroll]] for (uint t = 0; t < ROWS; ++t) xRow[t] = inputRow(g, min(r0 + t, rows - 1)) * I;
  const uint wRow = (g * p.outputs + 4 * c4) * I;
  vec4 acc[ROWS];
  [[unroll]] for (uint t = 0; t < ROWS; ++t) acc[t] = vec4(0.0);
  for (uint k = 0; k < I; ++k) {
    const vec4 wk = vec4(w[wRow + k], w[wRow + I + k], w[wRow + 2 * I + k], w[wRow + 3 * I + k]);
    [[unroll]] for (uint t = 0; t < ROWS; ++t) acc[t] += x[xRow[t] + k] * wk;
  }
  if (p.hasBias != 0u) {
    const vec4 bias = b[g * O4 + c4];
    [[unroll]] for (uint t = 0; t < ROWS; ++t) acc[t] += bias;
  }
  [[unroll]] for (uint t = 0; t < ROWS; ++t) {
    if (r0 + t >= rows) break;
    const uint o = (g * p.rows + r0 + t) * O4 + c4;
    if (SEPARATE_Z != 0u) z[o] = acc[t];
    y[o] = rl_act4(ACT, acc[t]);
  }
}

// Each invocation walks tiles with a grid-wide stride (the grid may be capped below the tile count);
// masked groups stop at their occupied rows, not at M.
void main() {
  if (gl_WorkGroupID.y >= p.groups) return;
  const uint g = gl_WorkGroupID.y;
  const uint rows = activeRows(g);
  const uint tiles = ((rows + ROWS - 1) / ROWS) * colTiles();
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < tiles; i += stride) tile(g, i, rows);
}
