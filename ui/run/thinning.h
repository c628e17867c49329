#pragma once
// Uniform thinning of a step-ordered sequence, shared by the metric history and the snapshot
// store. Halving "the older half" on every overflow would thin the start of a run on every
// overflow, so after a million steps only the last few thousand would be left. Instead the
// older part keeps one item per bucket of `stride` steps (stride doubling as the run grows): it
// covers the whole run evenly, while the most recent items stay untouched.
#include <cstddef>
#include <vector>

namespace rl::ui {

// Thins items [0, end) to at most one per bucket [k·stride, (k+1)·stride) of steps, keeping the
// first item of a bucket that `prefer` accepts, else the bucket's first item. Items from `end` on
// are kept. Order is preserved. Returns how many items were removed.
template <class T, class StepOf, class Prefer>
size_t thinToStride(std::vector<T>& items, size_t end, long stride, StepOf stepOf, Prefer prefer) {
  size_t out = 0, i = 0;
  while (i < end) {
    const long bucket = static_cast<long>(stepOf(items[i])) / stride;
    size_t pick = i, j = i;
    bool preferred = prefer(items[i]);
    for (; j < end && static_cast<long>(stepOf(items[j])) / stride == bucket; ++j)
      if (!preferred && prefer(items[j])) pick = j, preferred = true;
    if (out != pick) items[out] = std::move(items[pick]);
    ++out;
    i = j;
  }
  const size_t removed = end - out;
  for (size_t k = end; k < items.size(); ++k) items[out++] = std::move(items[k]);
  items.resize(out);
  return removed;
}

// Brings items under `target` by thinning all but the last `recent` items at `stride`, doubling
// the stride (kept across calls by the caller) until they fit.
template <class T, class StepOf, class Prefer>
void thinUntil(std::vector<T>& items, size_t target, size_t recent, long& stride, StepOf stepOf, Prefer prefer) {
  while (items.size() > target && items.size() > recent + 1) {
    thinToStride(items, items.size() - recent, stride, stepOf, prefer);
    if (items.size() > target) stride *= 2;
  }
}

}  // namespace rl::ui
