#pragma once
// Routing health as pure functions over small arrays, and a collapse detector fed once per step.
// Definitions and defaults: docs/metrics.md. A "load" vector holds one non-negative value per
// expert (fractions of routing choices, or counts); every function normalises it to shares
// p_e = load_e / Σ load first, so counts and fractions give the same answer.
#include <string>
#include <vector>

namespace rl {

// H(p) / ln E, in [0, 1]: 1 = perfectly uniform, 0 = everything on one expert. E = 1 gives 1;
// an all-zero load gives 0.
double normalisedLoadEntropy(const std::vector<float>& load);
// Population standard deviation / mean of the load; 0 = uniform, sqrt(E-1) = one expert takes all.
double coefficientOfVariation(const std::vector<float>& load);
// Largest share max_e p_e, in [1/E, 1]; 0 for an all-zero load.
double maxShare(const std::vector<float>& load);

// Experts whose share stayed below `threshold` in every one of the last `window` entries of
// history (oldest first). Empty when the history is shorter than the window.
std::vector<int> deadExperts(const std::vector<std::vector<float>>& history, double threshold, int window);

// I(class; expert) in nats from a contingency table counts[class][expert] (non-negative).
double mutualInformation(const std::vector<std::vector<double>>& counts);
// I(class; expert) / H(class), in [0, 1]: 1 = the expert determines the class. 0 when H(class) = 0.
double normalisedMutualInformation(const std::vector<std::vector<double>>& counts);

struct CollapseVerdict {
  bool collapsed = false;
  int beganAtStep = -1;          // first step of the sustained stretch the run ends in; -1 if none
  std::vector<int> deadExperts;  // by the dead-expert rule, whether or not the run collapsed
  std::string reason;            // one sentence for people
};

struct CollapseCriteria {
  double entropyBelow = 0.5;   // a point is collapsed when the normalised load entropy is below this
  double maxShareAbove = 0.8;  // ... or one expert's share is above this
  int window = 50;             // collapsed points in a row that make a collapse
  double deadShareTimesE = 0.1;  // dead: share < deadShareTimesE / E ...
  int deadWindow = 100;          // ... for this many points in a row, up to the latest
};

// Fed one load vector per recorded step; keeps O(E) state, so it can run for millions of steps.
// The run counts as collapsed when it ends in a stretch of at least `window` collapsed points.
class CollapseDetector {
 public:
  explicit CollapseDetector(CollapseCriteria criteria = {});
  void add(int step, const std::vector<float>& load);
  CollapseVerdict verdict() const;
  const CollapseCriteria& criteria() const { return criteria_; }

 private:
  CollapseCriteria criteria_;
  int points_ = 0;
  // The current stretch of collapsed points (length 0 when the latest point is healthy).
  int stretchLength_ = 0, stretchStart_ = -1;
  // The last sustained stretch that ended (recovered), for the reason text.
  int recoveredFrom_ = -1, recoveredAt_ = -1;
  double lastEntropy_ = 0, lastMaxShare_ = 0;
  std::vector<int> belowFor_;  // per expert: latest points in a row below the dead threshold
};

}  // namespace rl
