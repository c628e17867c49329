#pragma once
// The history of one training run: every step's metrics, per-layer collapse detectors, and the
// CSV/summary forms that routelab-cli writes and the desktop app exports.
#include <string>
#include <vector>

#include "metrics/routing_metrics.h"
#include "train/session.h"

namespace rl {

class RunRecord {
 public:
  explicit RunRecord(int moeLayers);
  void add(const StepMetrics& m);
  const std::vector<StepMetrics>& steps() const { return steps_; }
  CollapseVerdict verdict(int layer) const { return detectors_.at(layer).verdict(); }
  std::vector<std::string> csvHeader() const;
  std::vector<std::vector<double>> csvRows() const;

 private:
  std::vector<StepMetrics> steps_;
  std::vector<CollapseDetector> detectors_;
};

struct RunTiming {
  double msPerStep = 0;
  double seconds = 0;
};

// Writes config.json, weights.safetensors, metrics.csv and summary.json into dir (created if
// needed), each atomically. Evaluates the held-out split for the summary. Returns the summary JSON.
std::string writeRunOutputs(const std::string& dir, Session& session, const RunRecord& record,
                            const RunTiming& timing, const std::string& stopReason);

}  // namespace rl
