// Body of the vec4 backward-input shaders (linear_backward_input_vec4.comp, linear_backward_vec4.comp):
// dZ = dY (.) act'(Z);  dX[G,M,I] (= or +=) dZ[G,M,O] . W[G,O,I]. One tile: ROWS rows x 4 inputs of
// one group, o ascending. Include after: texel buffers DY, Z, W; buffer dx (vec4); push constants p;
// constant ACT; activeRows() (linear_rows.glsl). With RL_DX_EPILOGUE defined: also texel buffer ZX
// and constant DX_ACT (LinearBackward's dX epilogue, engine/ops/linear.h).

const uint ROWS = 8;  // = rl::kLinearVecRows

uint inputColTiles() { return p.inputs / 4; }

// One tile: `index` counts tiles row-tile-major; `rows` = the group's rows (all, or the masked prefix).
void inputTile(const uint g, const uint index, const uint rows) {
  const uint r0 = (index / inputColTiles()) * ROWS;
  const uint i4 = index % inputColTiles();  // input texel: inputs 4 i4 .. 4 i4 + 3
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
#ifdef RL_DX_EPILOGUE
    // dZx = (dZ . W) (.) act'(Zx): the earlier layer's activation derivative, once per element.
    if (DX_ACT != RL_ACT_NONE) acc[t] = rl_act_backward4(DX_ACT, acc[t], imageLoad(ZX, int(o)));
#endif
    dx[o] = (p.accumulate != 0u ? dx[o] : vec4(0.0)) + acc[t];
  }
}

// Tiles first, first + stride, ... of group g: the grid may be smaller than the tile count
// (lavapipe's capped grid) and masked groups stop at their occupied rows, not at M.
void inputTiles(const uint g, const uint first, const uint stride) {
  const uint rows = activeRows(g);
  const uint tiles = ((rows + ROWS - 1) / ROWS) * inputColTiles();
  for (uint i = first; i < tiles; i += stride) inputTile(g, i, rows);
}
