#include "run/snapshot_store.h"

#include <algorithm>

namespace rl::ui {

SnapshotStore::SnapshotStore(int every, size_t maxCount, size_t maxBytes)
    : every_(std::max(1, every)), maxCount_(std::max<size_t>(maxCount, 4)), maxBytes_(maxBytes) {}

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
  while (items_.size() >= 4 && (items_.size() > maxCount_ || bytes_ > maxBytes_)) thinOlderHalf();
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
}

std::vector<int> SnapshotStore::steps() const {
  std::vector<int> out;
  out.reserve(items_.size());
  for (const auto& s : items_) out.push_back(s.state.step);
  return out;
}

void SnapshotStore::thinOlderHalf() {
  // Keeps the first of every pair in the older half, so the run's start stays rewindable.
  const size_t older = items_.size() / 2 & ~size_t(1);
  size_t out = 0;
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i < older && i % 2 == 1) {
      bytes_ -= sizeOf(items_[i]);
      continue;
    }
    items_[out++] = std::move(items_[i]);
  }
  items_.resize(out);
}

}  // namespace rl::ui
