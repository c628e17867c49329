#include "run/snapshot_store.h"

#include <algorithm>

#include "run/thinning.h"

namespace rl::ui {

SnapshotStore::SnapshotStore(int every, size_t maxCount, size_t maxBytes)
    : every_(std::max(1, every)), stride_(every_), maxCount_(std::max<size_t>(maxCount, 4)), maxBytes_(maxBytes) {}

size_t SnapshotStore::sizeOf(const StoredSnapshot& s) {
  return (s.state.params.size() + s.state.optState.size()) * sizeof(uint32_t) + s.state.batchRng.size();
}

void SnapshotStore::add(StoredSnapshot s) {
  truncateAfter(s.state.step);
  if (!items_.empty() && items_.back().state.step == s.state.step) {
    bytes_ -= sizeOf(items_.back());
    items_.pop_back();
  }
  bytes_ += sizeOf(s);
  items_.push_back(std::move(s));
  if (full()) thin();
}

const StoredSnapshot* SnapshotStore::atOrBefore(int step) const {
  auto after = std::upper_bound(items_.begin(), items_.end(), step,
                                [](int s, const StoredSnapshot& x) { return s < x.state.step; });
  return after == items_.begin() ? nullptr : &*(after - 1);
}

void SnapshotStore::truncateAfter(int step) {
  while (!items_.empty() && items_.back().state.step > step) {
    bytes_ -= sizeOf(items_.back());
    items_.pop_back();
  }
}

void SnapshotStore::clear() {
  items_.clear();
  bytes_ = 0;
  stride_ = every_;
}

std::vector<int> SnapshotStore::steps() const {
  std::vector<int> out;
  out.reserve(items_.size());
  for (const auto& s : items_) out.push_back(s.state.step);
  return out;
}

void SnapshotStore::thin() {
  // The recent quarter (of the count and of the bytes) stays; the older part is thinned at
  // growing strides until both limits have room to spare, so thinning is rare. The first
  // snapshot of a bucket is kept, so the run's start (step 0) always stays.
  size_t recent = 0, recentBytes = 0;
  for (auto it = items_.rbegin(); it != items_.rend() && recent < maxCount_ / 4; ++it) {
    if (recent > 0 && recentBytes + sizeOf(*it) > maxBytes_ / 4) break;
    recentBytes += sizeOf(*it);
    ++recent;
  }
  const size_t targetCount = recent + (maxCount_ - recent) / 2;
  const size_t targetBytes = maxBytes_ / 4 + (maxBytes_ - maxBytes_ / 4) / 2;
  auto stepOf = [](const StoredSnapshot& s) { return s.state.step; };
  auto never = [](const StoredSnapshot&) { return false; };
  while (items_.size() > recent + 1 && (items_.size() > targetCount || bytes_ > targetBytes)) {
    thinToStride(items_, items_.size() - recent, stride_, stepOf, never);
    bytes_ = 0;
    for (const auto& s : items_) bytes_ += sizeOf(s);
    if (items_.size() > targetCount || bytes_ > targetBytes) stride_ *= 2;
  }
}

}  // namespace rl::ui
