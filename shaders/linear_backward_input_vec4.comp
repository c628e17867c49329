#version 450
// dZ = dY (.) act'(Z);  dX[G,M,I] (= or +=) dZ[G,M,O] . W[G,O,I].  (engine/ops/linear.h)
// Variant for I % 4 == 0 and O % 4 == 0: dY, Z and W are read as rgba32f texel buffers. One
// invocation: ROWS rows x 4 inputs of one group (workgroup y), o ascending.
#include "common.glsl"
#include "activation.glsl"

const uint ROWS = 8;  // = rl::kLinearVecRows

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

uint colTiles() { return p.inputs / 4; }

// One tile: `index` counts tiles row-tile-major; `rows` = the group's rows (all, or the masked prefix).
void tile(const uint g, const uint index, const uint rows) {
  const uint r0 = (index / colTiles()) * ROWS;
  const uint i4 = index % colTiles();  // input texel: inputs 4 i4 .. 4 i4 + 3
  const uint I4 = p.inputs / 4, O4 = p.outputs / 4;

  int zRow[ROWS];
  [[unroll]] for (uint t = 0; t < ROWS; ++t) zRow[t] = int((g * p.rows + min(r0 + t, rows - 1)) * O4);
  const int wBase = int(g * p.outputs * I4 + i4);
  vec4 acc[ROWS];
  [[unroll]] for (uint t = 0; t < ROWS; ++t) acc[t] = vec4(0.0);
  for (int o4 = 0; o4 < int(O4); ++o4) {
    vec4 w[4];
    [[unroll]] for (int j = 0; j < 4; ++j) w[j] = imageLoad(W, wBase + (4 * o4 + j) * int(I4));
    [[unroll]] for (uint t = 0; t < ROWS; ++t) {
      const vec4 dz = rl_act_backward4(ACT, imageLoad(DY, zRow[t] + o4), imageLoad(Z, zRow[t] + o4));
      acc[t] += dz.x * w[0] + dz.y * w[1] + dz.z * w[2] + dz.w * w[3];
    }
  }
  [[unroll]] for (uint t = 0; t < ROWS; ++t) {
    if (r0 + t >= rows) break;
    const uint o = (g * p.rows + r0 + t) * I4 + i4;
    dx[o] = (p.accumulate != 0u ? dx[o] : vec4(0.0)) + acc[t];
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
