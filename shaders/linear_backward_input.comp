#version 450
// dZ = dY (.) act'(Z);  dX[G,M,I] (= or +=) dZ[G,M,O] . W[G,O,I].  (engine/ops/linear.h)
// One invocation: a TILE x TILE block of (rows, inputs) of one group (workgroup y), o ascending.
#include "common.glsl"
#include "activation.glsl"

const uint TILE = 4;  // = rl::kLinearTile

layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer Z { float z[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) buffer DX { float dx[]; };

layout(std430, binding = 4) readonly buffer RowMask { int rowMask[]; };  // [G, M]; read only with p.maskRows

// The activation code as a specialisation constant (equal to p.act): each pipeline is compiled for one
// activation, so the inner loops carry no branches over activations.
layout(constant_id = 1) const uint ACT = 0;

// Mirrors rl::LinearParams (in/out renamed: GLSL keywords).
layout(push_constant) uniform P {
  uint groups, rows, inputs, outputs, act, accumulate, hasBias, maskRows;
} p;

#include "linear_rows.glsl"

uint colTiles() { return (p.inputs + TILE - 1) / TILE; }

// One tile: `index` counts tiles row-tile-major; `rows` = the group's rows (all, or the masked prefix).
void tile(const uint g, const uint index, const uint rows) {
  const uint r0 = (index / colTiles()) * TILE;
  const uint i0 = (index % colTiles()) * TILE;
  const uint I = p.inputs, O = p.outputs;

  uint zRow[TILE], wCol[TILE];
  [[unroll]] for (uint t = 0; t < TILE; ++t) {
    zRow[t] = (g * p.rows + min(r0 + t, rows - 1)) * O;
    wCol[t] = g * O * I + min(i0 + t, I - 1);
  }
  vec4 acc[TILE];
  [[unroll]] for (uint t = 0; t < TILE; ++t) acc[t] = vec4(0.0);
  for (uint o = 0; o < O; ++o) {
    const uint wo = o * I;
    vec4 wk = vec4(w[wCol[0] + wo], w[wCol[1] + wo], w[wCol[2] + wo], w[wCol[3] + wo]);
    [[unroll]] for (uint t = 0; t < TILE; ++t) acc[t] += rl_act_backward(ACT, dy[zRow[t] + o], z[zRow[t] + o]) * wk;
  }
  [[unroll]] for (uint t = 0; t < TILE; ++t) {
    if (r0 + t >= rows) break;
    const uint base = (g * p.rows + r0 + t) * I + i0;
    [[unroll]] for (uint c = 0; c < TILE; ++c) {
      if (i0 + c >= I) break;
      dx[base + c] = (p.accumulate != 0u ? dx[base + c] : 0.0) + acc[t][c];
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
