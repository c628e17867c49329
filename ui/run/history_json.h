#pragma once
// Compact JSON for metric histories (project files). Each point is an array
//   [step, loss, task_loss, accuracy, grad_norm, eval_loss, eval_accuracy, [layer, …]]
// and each layer
//   [[load…], [importance…], router_entropy, dropped, aux_loss, z_loss,
//    load_entropy, cv, max_share, mutual_information]
// with null for NaN (JSON has none). docs/project-file.md documents it.
#include <string>
#include <vector>

#include "run/run_snapshot.h"

namespace rl::ui {

std::string historyToJson(const std::vector<HistoryPoint>& history);
std::string comparisonsToJson(const std::vector<ComparisonRun>& runs);

// Throw std::runtime_error naming the JSON path of the first problem ("history[12][7][0]: …").
// Steps must increase.
std::vector<HistoryPoint> historyFromJson(const std::string& text);
std::vector<ComparisonRun> comparisonsFromJson(const std::string& text);

}  // namespace rl::ui
