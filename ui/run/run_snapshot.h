#pragma once
// What the UI draws from: value types copied out of the training thread (never pointers into a
// live Session). The TrainingController publishes one RunSnapshot at display rate; every view
// reads only this.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metrics/routing_metrics.h"
#include "run/token_routing.h"
#include "spec/spec.h"
#include "train/session.h"

namespace rl::ui {

// One recorded point of a run's history. Train fields come from the step; eval fields (held-out
// loss/accuracy and mutual information) are NaN except on the steps where an evaluation ran.
struct HistoryPoint {
  int step = 0;
  double loss = 0, taskLoss = 0, accuracy = 0, gradNorm = 0;
  double evalLoss = 0, evalAccuracy = 0;  // NaN when not evaluated at this step
  struct Layer {
    std::vector<float> load;        // fraction of routing choices per expert
    std::vector<float> importance;  // mean gate probability per expert
    double routerEntropy = 0, dropped = 0, auxLoss = 0, zLoss = 0;
    double loadEntropy = 0, cv = 0, maxShare = 0;  // derived from load (routing_metrics.h)
    double mutualInformation = 0;   // normalised I(class; expert); NaN when not evaluated
  };
  std::vector<Layer> layers;  // one per MoE layer
};

// The expert the router picks over a grid covering the 2-D input plane (2-D datasets only).
// Cell (i, j) covers [xMin + i·dx, xMin + (i+1)·dx] × [yMin + j·dy, yMin + (j+1)·dy] with
// dx = (xMax − xMin) / resolution, and is evaluated at its centre (run/input_map.h).
struct InputMap {
  int resolution = 0;               // grid is resolution × resolution
  double xMin = 0, xMax = 0, yMin = 0, yMax = 0;
  std::vector<std::vector<int>> topExpert;  // per MoE layer: [resolution * resolution], row-major, y outer
  std::vector<int> predictedClass;          // [resolution * resolution]; empty for regression
  std::vector<float> prediction;            // [resolution * resolution * outputDim]
};

// A finished or forked-from run kept for comparison (curves overlaid).
struct ComparisonRun {
  std::string label;                // e.g. "run 1 (forked at step 300)"
  std::vector<HistoryPoint> history;
};

struct RunSnapshot {
  // Identity and state.
  Spec spec;
  std::string backendName, deviceName, backendReason;
  int step = 0;
  bool playing = false;
  double stepsPerSecond = 0;
  std::string message;  // last notable event for the status bar ("diverged at step 812: …")
  bool diverged = false;

  // History (bounded; decimated for long runs, oldest first) and the runs it is compared with.
  std::vector<HistoryPoint> history;
  std::vector<ComparisonRun> comparisons;
  std::vector<int> snapshotSteps;  // steps a user can rewind or fork to

  // Latest values.
  StepMetrics latest;
  EvalMetrics latestEval;     // held-out split, refreshed every evalEvery steps
  Probe probe;                // routing of the fixed probe batch
  InputMap inputMap;          // empty (resolution 0) for non-2-D data
  std::vector<CollapseVerdict> collapse;  // per MoE layer
  std::optional<TokenRouting> tokenRouting;  // Transformer models only (run/token_routing.h)

  // Per MoE layer: router kind, k, experts, capacity per expert (0 = unlimited).
  // Transformer layers map their token router onto the nearest RouterType (dense, else top-k) and
  // name it in tokenRouter (its spec name: token_choice, expert_choice, ...; "" for MLP layers).
  struct LayerInfo {
    RouterType router = RouterType::TopK;
    int experts = 0, k = 0, capacity = 0;
    std::string tokenRouter;
  };
  std::vector<LayerInfo> layers;
  int classes = 0;  // 0 for regression
  // What the routing view groups probe rows and the held-out routing table by: "class" (the
  // `classes` true classes of MLP data) or, for a Transformer, each token's "task" or "language"
  // (latestEval.classExpertCounts rows), named by groupNames.
  std::string groupKind = "class";
  std::vector<std::string> groupNames;  // empty: "class 0", "class 1", ...
};

using RunSnapshotPtr = std::shared_ptr<const RunSnapshot>;

}  // namespace rl::ui
