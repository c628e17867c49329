#pragma once
// The point cloud of the Representations dock: one point per probe row at its 2-D embedding
// (t-SNE or PCA of the hidden states), with what to colour it by — the expert each MoE layer
// chose for it, its class, and any per-row labels the data carries (task, language, position,
// token id: HiddenStates::extraLabels) — and a hover text with its gate probabilities.
#include <QString>
#include <memory>
#include <vector>

#include "train/hidden_states.h"
#include "vulkan/point_cloud.h"

namespace rl::ui {

// `embedding` is [rows, 2]. The states are shared with the hover callback (no copy per point).
PointCloud representationCloud(std::shared_ptr<const HiddenStates> states, std::vector<float> embedding);

// The attribute shown first for a new cloud: the expert chosen at the layer the states were read at.
int defaultColourAttribute(const HiddenStates& states);

// The expert with the largest gate weight among a row's chosen experts at one layer (-1 if none).
int chosenExpert(const ProbeLayer& layer, int row);

// "MoE 2 input", "MoE 1 output": names the representation.
QString representationName(int layer, HiddenSide side);

}  // namespace rl::ui
