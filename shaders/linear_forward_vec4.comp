#version 450
// Z[G,M,O] = X[G,M,I] . W[G,O,I]^T + b[G,O];  Y = act(Z).  (engine/ops/linear.h)
// Variant for I % 4 == 0 and O % 4 == 0: X and W are read as rgba32f texel buffers (one imageLoad
// = 4 consecutive k), which lavapipe turns into gathers instead of per-lane loops. One invocation:
// ROWS rows x 4 outputs of one group (workgroup y), k ascending.
#include "common.glsl"
#include "activation.glsl"

const uint ROWS = 8;  // = rl::kLinearVecRows

layout(binding = 0, rgba32f) uniform readonly imageBuffer X;  // [G, M, I/4] texels
layout(binding = 1, rgba32f) uniform readonly imageBuffer W;  // [G, O, I/4] texels
layout(std430, binding = 2) readonly buffer B { vec4 b[]; };   // [G, O/4]
layout(std430, binding = 3) writeonly buffer Z { vec4 z[]; };  // [G, M, O/4]; may be the same tensor as Y
layout(std430, binding = 4) writeonly buffer Y { vec4 y[]; };

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

uint colTiles() { return p.outputs / 4; }

// One tile: `index` counts tiles row-tile-major; `rows` = the group's rows (all, or the masked prefix).
void tile(const uint g, const uint index, const uint rows) {
  const uint r0 = (index / colTiles()) * ROWS;
  const uint c4 = index % colTiles();  // output texel: outputs 4 c4 .. 4 c4 + 3
  const uint I4 = p.inputs / 4, O4 = p.outputs / 4;

  int xRow[ROWS], wRow[4];
  [[unroll]] for (uint t = 0; t < ROWS; ++t) xRow[t] = int(inputRow(g, min(r0 + t, rows - 1)) * I4);
  [[unroll]] for (uint c = 0; c < 4; ++c) wRow[c] = int((g * p.outputs + 4 * c4 + c) * I4);
  vec4 acc[ROWS];
  [[unroll]] for (uint t = 0; t < ROWS; ++t) acc[t] = vec4(0.0);
  for (int k = 0; k < int(I4); ++k) {
    vec4 xk[ROWS], wk[4];
    [[unroll]] for (uint t = 0; t < ROWS; ++t) xk[t] = imageLoad(X, xRow[t] + k);
    [[unroll]] for (uint c = 0; c < 4; ++c) wk[c] = imageLoad(W, wRow[c] + k);
    [[unroll]] for (uint t = 0; t < ROWS; ++t)
      acc[t] += vec4(dot(xk[t], wk[0]), dot(xk[t], wk[1]), dot(xk[t], wk[2]), dot(xk[t], wk[3]));
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

// Each invocation walks tiles with a grid-wide stride, so the grid may be smaller than the tile
// count (rl::linearGridCap) and masked groups stop at their occupied rows, not at M.
void main() {
  if (gl_WorkGroupID.y >= p.groups) return;
  const uint g = gl_WorkGroupID.y;
  const uint rows = activeRows(g);
  const uint tiles = ((rows + ROWS - 1) / ROWS) * colTiles();
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < tiles; i += stride) tile(g, i, rows);
}
