#pragma once
// The states a user can rewind or fork to: a Session snapshot taken every `every` steps together
// with the spec it belongs to (an edit rebuilds the model, so older snapshots need their own spec)
// and the collapse detectors as they were then. Bounded in count and bytes: when full, all but the
// most recent quarter are thinned to one snapshot per bucket of steps (thinning.h), so the whole
// run stays reachable evenly and the recent past densely.
#include <cstddef>
#include <memory>
#include <vector>

#include "metrics/routing_metrics.h"
#include "spec/spec.h"
#include "train/session.h"

namespace rl::ui {

struct StoredSnapshot {
  Snapshot state;
  std::shared_ptr<const Spec> spec;
  std::vector<CollapseDetector> detectors;  // one per MoE layer, as at state.step
};

class SnapshotStore {
 public:
  static constexpr int kDefaultEvery = 25;
  static constexpr size_t kDefaultMaxCount = 240;
  static constexpr size_t kDefaultMaxBytes = size_t(128) << 20;
  explicit SnapshotStore(int every = kDefaultEvery, size_t maxCount = kDefaultMaxCount,
                         size_t maxBytes = kDefaultMaxBytes);

  bool due(int step) const { return step % every_ == 0; }
  // Replaces a stored snapshot of the same step (e.g. the one an edit took at the current step).
  void add(StoredSnapshot s);
  // The latest snapshot at or before step; null when there is none.
  const StoredSnapshot* atOrBefore(int step) const;
  const StoredSnapshot* newest() const { return items_.empty() ? nullptr : &items_.back(); }
  void truncateAfter(int step);  // drops every snapshot later than step
  void clear();

  std::vector<int> steps() const;
  size_t bytes() const { return bytes_; }
  int every() const { return every_; }

 private:
  static size_t sizeOf(const StoredSnapshot& s);
  bool full() const { return items_.size() > maxCount_ || bytes_ > maxBytes_; }
  void thin();

  int every_;
  long stride_;
  size_t maxCount_, maxBytes_, bytes_ = 0;
  std::vector<StoredSnapshot> items_;  // ascending steps
};

}  // namespace rl::ui
