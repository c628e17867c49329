#include "metrics/routing_metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace rl {

namespace {

double total(const std::vector<float>& load) {
  double s = 0;
  for (float v : load) s += v;
  return s;
}

// -Σ q ln q over the non-zero q of a distribution given by weights w and their sum.
template <class Range>
double entropyOf(const Range& w, double sum) {
  double h = 0;
  for (double v : w)
    if (v > 0) h -= (v / sum) * std::log(v / sum);
  return h;
}

std::string fixed(double v, int digits = 2) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(digits);
  os << v;
  return os.str();
}

}  // namespace

double normalisedLoadEntropy(const std::vector<float>& load) {
  if (load.size() <= 1) return load.empty() ? 0.0 : 1.0;
  const double sum = total(load);
  if (!(sum > 0)) return 0.0;
  std::vector<double> w(load.begin(), load.end());
  return entropyOf(w, sum) / std::log(static_cast<double>(load.size()));
}

double coefficientOfVariation(const std::vector<float>& load) {
  if (load.empty()) return 0.0;
  const double mean = total(load) / load.size();
  if (!(mean > 0)) return 0.0;
  double var = 0;
  for (float v : load) var += (v - mean) * (v - mean);
  return std::sqrt(var / load.size()) / mean;
}

double maxShare(const std::vector<float>& load) {
  const double sum = total(load);
  if (load.empty() || !(sum > 0)) return 0.0;
  return *std::max_element(load.begin(), load.end()) / sum;
}

std::vector<int> deadExperts(const std::vector<std::vector<float>>& history, double threshold, int window) {
  std::vector<int> dead;
  if (window < 1 || history.size() < static_cast<size_t>(window)) return dead;
  const size_t experts = history.back().size();
  std::vector<bool> alive(experts, false);
  for (size_t i = history.size() - window; i < history.size(); ++i) {
    const auto& load = history[i];
    if (load.size() != experts) throw std::invalid_argument("deadExperts: load vectors differ in length");
    const double sum = total(load);
    for (size_t e = 0; e < experts; ++e)
      if (sum > 0 && load[e] / sum >= threshold) alive[e] = true;  // an all-zero entry keeps nobody alive
  }
  for (size_t e = 0; e < experts; ++e)
    if (!alive[e]) dead.push_back(static_cast<int>(e));
  return dead;
}

double mutualInformation(const std::vector<std::vector<double>>& counts) {
  // I = Σ p(c,e) ln( p(c,e) / (p(c) p(e)) ) = H(class) + H(expert) - H(class, expert).
  double n = 0;
  std::vector<double> perClass, perExpert, joint;
  for (const auto& row : counts) {
    double r = 0;
    if (perExpert.size() < row.size()) perExpert.resize(row.size(), 0.0);
    for (size_t e = 0; e < row.size(); ++e) {
      r += row[e];
      perExpert[e] += row[e];
      joint.push_back(row[e]);
    }
    perClass.push_back(r);
    n += r;
  }
  if (!(n > 0)) return 0.0;
  return std::max(0.0, entropyOf(perClass, n) + entropyOf(perExpert, n) - entropyOf(joint, n));
}

double normalisedMutualInformation(const std::vector<std::vector<double>>& counts) {
  double n = 0;
  std::vector<double> perClass;
  for (const auto& row : counts) {
    double r = 0;
    for (double v : row) r += v;
    perClass.push_back(r);
    n += r;
  }
  if (!(n > 0)) return 0.0;
  const double hClass = entropyOf(perClass, n);
  if (hClass <= 1e-12) return 0.0;
  return std::clamp(mutualInformation(counts) / hClass, 0.0, 1.0);
}

CollapseDetector::CollapseDetector(CollapseCriteria criteria) : criteria_(criteria) {}

void CollapseDetector::add(int step, const std::vector<float>& load) {
  if (belowFor_.empty()) belowFor_.assign(load.size(), 0);
  if (load.size() != belowFor_.size()) throw std::invalid_argument("CollapseDetector: the number of experts changed");
  ++points_;
  lastEntropy_ = normalisedLoadEntropy(load);
  lastMaxShare_ = maxShare(load);
  const bool collapsedPoint = lastEntropy_ < criteria_.entropyBelow || lastMaxShare_ > criteria_.maxShareAbove;
  if (collapsedPoint) {
    if (stretchLength_++ == 0) stretchStart_ = step;
  } else {
    if (stretchLength_ >= criteria_.window) {
      recoveredFrom_ = stretchStart_;
      recoveredAt_ = step;
    }
    stretchLength_ = 0;
    stretchStart_ = -1;
  }
  const double sum = total(load);
  const double deadShare = criteria_.deadShareTimesE / static_cast<double>(load.size());
  for (size_t e = 0; e < load.size(); ++e) {
    const bool below = !(sum > 0) || load[e] / sum < deadShare;
    belowFor_[e] = below ? belowFor_[e] + 1 : 0;
  }
}

CollapseVerdict CollapseDetector::verdict() const {
  CollapseVerdict v;
  for (size_t e = 0; e < belowFor_.size(); ++e)
    if (belowFor_[e] >= criteria_.deadWindow) v.deadExperts.push_back(static_cast<int>(e));
  std::string dead;
  for (int e : v.deadExperts) {
    if (!dead.empty()) dead += ", ";
    dead += std::to_string(e);
  }
  const std::string latest = "normalised load entropy " + fixed(lastEntropy_) + ", max share " + fixed(lastMaxShare_);

  if (points_ == 0) {
    v.reason = "no routing recorded yet";
    return v;
  }
  v.collapsed = stretchLength_ >= criteria_.window;
  if (v.collapsed) {
    v.beganAtStep = stretchStart_;
    v.reason = "collapsed since step " + std::to_string(stretchStart_) + ": load entropy below " +
               fixed(criteria_.entropyBelow) + " or max share above " + fixed(criteria_.maxShareAbove) + " for " +
               std::to_string(stretchLength_) + " recorded steps (now " + latest + ")";
  } else if (recoveredFrom_ >= 0) {
    v.reason = "recovered: collapsed from step " + std::to_string(recoveredFrom_) + " to step " +
               std::to_string(recoveredAt_) + " (now " + latest + ")";
  } else {
    v.reason = "balanced enough: " + latest;
  }
  if (!dead.empty()) v.reason += "; dead experts: " + dead;
  return v;
}

}  // namespace rl
