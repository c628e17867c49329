#pragma once
// Conversions between the engine's per-step metrics and the history points the views draw.
#include "run/run_snapshot.h"
#include "train/run_record.h"

namespace rl::ui {

// The point for one training step: derived routing metrics filled in, eval fields NaN.
HistoryPoint historyPointFrom(const StepMetrics& m);
// Attaches a held-out evaluation (loss, accuracy, per-layer normalised mutual information).
void attachEvaluation(HistoryPoint& p, const EvalMetrics& e);
// The step metrics a point was made from (as far as it keeps them; finite = true).
StepMetrics stepMetricsFrom(const HistoryPoint& p);

// A RunRecord (for rl::writeRunOutputs) over the trailing stretch of history whose per-layer
// expert counts match `expertsPerLayer`: an edit that changed the experts starts a new table.
RunRecord runRecordFrom(const std::vector<HistoryPoint>& history, const std::vector<int>& expertsPerLayer);

}  // namespace rl::ui
