#version 450
// Z[G,M,O] = X[G,M,I] . W[G,O,I]^T + b[G,O];  Y = act(Z).  (engine/ops/linear.h)
// One invocation: a TILE x TILE block of (rows, outputs) of one group (workgroup y), k ascending.
#include "common.glsl"
#include "activation.glsl"

const uint TILE = 4;  // = rl::kLinearTile

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) writeonly buffer Z { float z[]; };  // may be the same tensor as Y
layout(std430, binding = 4) writeonly buffer Y { float y[]; };

layout(std430, binding = 5) readonly buffer RowMask { int rowMask[]; };  // [G, M]; read only with p.maskRows

// The activation code as a specialisation constant (equal to p.act): each pipeline is compiled for one
// activation, so the inner loops carry no branches over activations.
layout(constant_id = 1) const uint ACT = 0;
layout(constant_id = 2) const uint SEPARATE_Z = 1;  // 0: Z is the same tensor as Y (no activation or ReLU), stored once

// Mirrors rl::LinearParams (in/out renamed: GLSL keywords).
layout(push_constant) uniform P {
  uint groups, rows, inputs, outputs, act, accumulate, hasBias, maskRows;
} p;

#include "linear_rows.glsl"

uint colTiles() { return (p.outputs + TILE - 1) / TILE; }

// One tile: `index` counts tiles row-tile-major; `rows` = the group's rows (all, or the masked prefix).
void tile(const uint g, const uint index, const uint rows) {
  const uint r0 = (index / colTiles()) * TILE;
  const uint c0 = (index % colTiles()) * TILE;
  const uint I = p.inputs, O = p.outputs;

  // Edge tiles read clamped (valid) rows/columns and skip them when writing.
  uint xRow[TILE], wRow[TILE];
  [[unroll]] for (uint t = 0; t < TILE; ++t) {
    xRow[t] = inputRow(g, min(r0 + t, rows - 1)) * I;
    wRow[t] = (g * O + min(c0 + t, O - 1)) * I;
  }
  vec4 acc[TILE];
  [[unroll]] for (uint t = 0; t < TILE; ++t) acc[t] = vec4(0.0);
  for (uint k = 0; k < I; ++k) {
    vec4 wk = vec4(w[wRow[0] + k], w[wRow[1] + k], w[wRow[2] + k], w[wRow[3] + k]);
    [[unroll]] for (uint t = 0; t < TILE; ++t) acc[t] += x[xRow[t] + k] * wk;
  }
  if (p.hasBias != 0u) {
    const uint bRow = g * O;
    vec4 bias = vec4(b[bRow + min(c0, O - 1)], b[bRow + min(c0 + 1, O - 1)], b[bRow + min(c0 + 2, O - 1)],
                     b[bRow + min(c0 + 3, O - 1)]);
    [[unroll]] for (uint t = 0; t < TILE; ++t) acc[t] += bias;
  }
  [[unroll]] for (uint t = 0; t < TILE; ++t) {
    if (r0 + t >= rows) break;
    const uint base = (g * p.rows + r0 + t) * O;
    [[unroll]] for (uint c = 0; c < TILE; ++c) {
      if (c0 + c >= O) break;
      if (SEPARATE_Z != 0u) z[base + c0 + c] = acc[t][c];
      y[base + c0 + c] = rl_act(ACT, acc[t][c]);
    }
  }
}

// Each invocation walks tiles with a grid-wide stride, so the grid may be smaller than the tile
// count (rl::linearGridCap) and masked groups stop at their occupied rows, not at M.
void main() {
  if (gl_WorkGroupID.y >= p.groups) return;
  const uint g = gl_WorkGroupID.y;
  const uint rows = activeRows(g);
  const uint tiles = ((rows + TILE - 1) / TILE) * colTiles();
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < tiles; i += stride) tile(g, i, rows);
}
