// Row mask of the linear shaders (engine/ops/linear.h). Include after the push-constant block p and
// the buffer `rowMask`. With p.maskRows, group g's rows are the prefix of its M mask entries that
// are >= 0 (RouteAssign fills expert slots as a prefix), found by binary search; twin of
// rl::maskedRows. The search reads the same words in every invocation of a group.
// Row gather (rl::RowGather, GATHER_K > 0, always with p.maskRows): row m of group g reads the
// token row of X that the slot holds, rowMask[g M + m] / GATHER_K (the dispatch into expert slots
// folded into the layer: X is then [tokens, I]); otherwise row g M + m of X. Only occupied rows
// are ever asked for.
layout(constant_id = 4) const uint GATHER_K = 0;
uint inputRow(uint g, uint m) {
  return GATHER_K == 0u ? g * p.rows + m : uint(rowMask[g * p.rows + m]) / GATHER_K;
}

uint activeRows(uint g) {
  if (p.maskRows == 0u) return p.rows;
  const uint base = g * p.rows;
  uint lo = 0u, hi = p.rows;
  while (lo < hi) {
    const uint mid = (lo + hi) / 2u;
    if (rowMask[base + mid] >= 0)
      lo = mid + 1u;
    else
      hi = mid;
  }
  return lo;
}

