// Row mask of the linear shaders (engine/ops/linear.h). Include after the push-constant block p and
// the buffer `rowMask`. With p.maskRows, group g's rows are the prefix of its M mask entries that
// are >= 0 (RouteAssign fills expert slots as a prefix), found by binary search; twin of
// rl::maskedRows. The search reads the same words in every invocation of a group.
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

