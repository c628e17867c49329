// Body of the vec4 backward-params shaders (linear_backward_params_vec4.comp, linear_backward_vec4.comp):
// dZ = dY (.) act'(Z);  dW[G,O,I] += dZ^T . X;  db[G,O] += sum_m dZ (= with OVERWRITE). One tile:
// 8 outputs x 8 inputs (2 x 2 texels, the second clamped and not written at an odd edge) of one
// group, rows m ascending: 6 texel loads per 64 multiply-adds. The tiles of the first input pair
// also own db for their outputs. Include after: texel buffers DY, Z, X; buffers dw, db (vec4);
// push constants p; constants ACT, OVERWRITE; activeRows() (linear_rows.glsl).
const uint TILE = 8;  // outputs and inputs per invocation: rl::kLinearParamsVecTile

uint paramsColTiles() { return (p.inputs / 4 + 1) / 2; }  // pairs of input texels
uint paramsTileCount() { return ((p.outputs / 4 + 1) / 2) * paramsColTiles(); }

// Tile `tile` (< paramsTileCount()) of group g.
void paramsTile(const uint g, const uint tile) {
  const uint I4 = p.inputs / 4, O4 = p.outputs / 4;
  // Output texels oa, ob and input texels ia, ib; at an odd edge the second equals the first.
  const uint oa = 2u * (tile / paramsColTiles()), ob = min(oa + 1u, O4 - 1u);
  const uint ia = 2u * (tile % paramsColTiles()), ib = min(ia + 1u, I4 - 1u);

  vec4 accA[8], accB[8];  // [output j of the 8][input texel a / b]
  [[unroll]] for (uint j = 0; j < 8; ++j) {
    accA[j] = vec4(0.0);
    accB[j] = vec4(0.0);
  }
  vec4 biasA = vec4(0.0), biasB = vec4(0.0);
  const int zBase = int(g * p.rows * O4);
  const int rows = int(activeRows(g));  // all p.rows, or the masked prefix
  for (int m = 0; m < rows; ++m) {
    const int zr = zBase + m * int(O4), xr = int(inputRow(g, uint(m)) * I4);
    const vec4 dzA = rl_act_backward4(ACT, imageLoad(DY, zr + int(oa)), imageLoad(Z, zr + int(oa)));
    const vec4 dzB = rl_act_backward4(ACT, imageLoad(DY, zr + int(ob)), imageLoad(Z, zr + int(ob)));
    const vec4 xa = imageLoad(X, xr + int(ia)), xb = imageLoad(X, xr + int(ib));
    [[unroll]] for (uint j = 0; j < 4; ++j) {
      accA[j] += dzA[j] * xa;
      accB[j] += dzA[j] * xb;
      accA[4 + j] += dzB[j] * xa;
      accB[4 + j] += dzB[j] * xb;
    }
    biasA += dzA;
    biasB += dzB;
  }
  [[unroll]] for (uint j = 0; j < 8; ++j) {
    if (j >= 4 && ob == oa) break;
    const uint row = (g * p.outputs + 4 * (j < 4 ? oa : ob) + (j & 3u)) * I4;
    dw[row + ia] = (OVERWRITE != 0u ? vec4(0.0) : dw[row + ia]) + accA[j];
    if (ib != ia) dw[row + ib] = (OVERWRITE != 0u ? vec4(0.0) : dw[row + ib]) + accB[j];
  }
  if (p.hasBias != 0u && ia == 0u) {
    db[g * O4 + oa] = (OVERWRITE != 0u ? vec4(0.0) : db[g * O4 + oa]) + biasA;
    if (ob != oa) db[g * O4 + ob] = (OVERWRITE != 0u ? vec4(0.0) : db[g * O4 + ob]) + biasB;
  }
}
