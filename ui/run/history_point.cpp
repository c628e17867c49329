#include "run/history_point.h"

#include <limits>

namespace rl::ui {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool matches(const HistoryPoint& p, const std::vector<int>& experts) {
  if (p.layers.size() != experts.size()) return false;
  for (size_t l = 0; l < experts.size(); ++l)
    if (static_cast<int>(p.layers[l].load.size()) != experts[l]) return false;
  return true;
}
}  // namespace

HistoryPoint historyPointFrom(const StepMetrics& m) {
  HistoryPoint p;
  p.step = m.step;
  p.loss = m.loss;
  p.taskLoss = m.taskLoss;
  p.accuracy = m.accuracy;
  p.gradNorm = m.gradNorm;
  p.evalLoss = p.evalAccuracy = kNaN;
  for (const MoeMetrics& x : m.moe) {
    HistoryPoint::Layer L;
    L.load = x.load;
    L.importance = x.importance;
    L.routerEntropy = x.routerEntropy;
    L.dropped = x.dropped;
    L.auxLoss = x.auxLoss;
    L.zLoss = x.zLoss;
    L.loadEntropy = normalisedLoadEntropy(x.load);
    L.cv = coefficientOfVariation(x.load);
    L.maxShare = maxShare(x.load);
    L.mutualInformation = kNaN;
    p.layers.push_back(std::move(L));
  }
  return p;
}

void attachEvaluation(HistoryPoint& p, const EvalMetrics& e) {
  p.evalLoss = e.loss;
  p.evalAccuracy = e.accuracy;
  for (size_t l = 0; l < p.layers.size() && l < e.classExpertCounts.size(); ++l)
    p.layers[l].mutualInformation = normalisedMutualInformation(e.classExpertCounts[l]);
}

StepMetrics stepMetricsFrom(const HistoryPoint& p) {
  StepMetrics m;
  m.step = p.step;
  m.loss = p.loss;
  m.taskLoss = p.taskLoss;
  m.accuracy = p.accuracy;
  m.gradNorm = p.gradNorm;
  for (const auto& L : p.layers) {
    MoeMetrics x;
    x.load = L.load;
    x.importance = L.importance;
    x.routerEntropy = static_cast<float>(L.routerEntropy);
    x.dropped = static_cast<float>(L.dropped);
    x.auxLoss = static_cast<float>(L.auxLoss);
    x.zLoss = static_cast<float>(L.zLoss);
    m.moe.push_back(std::move(x));
  }
  return m;
}

RunRecord runRecordFrom(const std::vector<HistoryPoint>& history, const std::vector<int>& expertsPerLayer) {
  size_t first = history.size();
  while (first > 0 && matches(history[first - 1], expertsPerLayer)) --first;
  RunRecord record(static_cast<int>(expertsPerLayer.size()));
  for (size_t i = first; i < history.size(); ++i) record.add(stepMetricsFrom(history[i]));
  return record;
}

}  // namespace rl::ui
