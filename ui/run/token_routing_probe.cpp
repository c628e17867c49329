#include "run/token_routing_probe.h"

#include <algorithm>
#include <stdexcept>

namespace rl::ui {

namespace {

// Choice `at` (= row k + j) of a probe layer: its expert, gate weight and whether it got a slot;
// expert -1 when the layer records nothing valid there (out of range, or no expert).
RoutedChoice routedChoice(const ProbeLayer& layer, size_t at) {
  if (at >= layer.idx.size() || at >= layer.wt.size()) return {};
  const int e = layer.idx[at];
  if (e < 0 || e >= layer.experts) return {};
  return {e, layer.wt[at], at >= layer.slot.size() || layer.slot[at] >= 0};
}

}  // namespace

TokenChoice topKeptChoice(const ProbeLayer& layer, int row) {
  TokenChoice best;
  const size_t base = static_cast<size_t>(row) * layer.k;
  for (int j = 0; j < layer.k; ++j) {
    const RoutedChoice c = routedChoice(layer, base + j);
    if (c.expert < 0 || !c.kept) continue;
    if (best.expert < 0 || c.weight > best.weight) best = {c.expert, c.weight};
  }
  return best;
}

TokenRouting tokenRoutingFromProbe(const Probe& probe, const std::vector<std::string>& tokenNames) {
  if (probe.sequences <= 0 || probe.length <= 0 || probe.rows != probe.sequences * probe.length)
    throw std::invalid_argument("token routing: the probe holds " + std::to_string(probe.rows) + " rows, not " +
                                std::to_string(probe.sequences) + " sequences of " + std::to_string(probe.length) +
                                " tokens");
  const int T = probe.length, L = static_cast<int>(probe.layers.size());
  TokenRouting r;
  r.layers = L;
  r.sequences = probe.sequences;
  auto text = [&](int n) {
    const int id = n < static_cast<int>(probe.ids.size()) ? probe.ids[n] : -1;
    return id >= 0 && id < static_cast<int>(tokenNames.size()) ? tokenNames[id] : std::to_string(id);
  };
  for (int n = 0; n < probe.rows; ++n) r.probeTokens.push_back(text(n));
  r.tokens.assign(r.probeTokens.begin(), r.probeTokens.begin() + T);
  if (static_cast<int>(probe.labels.size()) == probe.rows)  // the token's task / language id
    for (int s = 0; s < probe.sequences; ++s) r.sequenceGroup.push_back(probe.labels[size_t(s) * T]);
  std::vector<std::vector<int>> all(L, std::vector<int>(probe.rows, -1));  // [L][S·T]
  r.probeWeight.assign(L, std::vector<float>(probe.rows, 0.0f));
  for (int l = 0; l < L; ++l) {
    const ProbeLayer& layer = probe.layers[l];
    r.experts.push_back(layer.experts);
    for (int n = 0; n < probe.rows; ++n) {
      const TokenChoice c = topKeptChoice(layer, n);
      all[l][n] = c.expert;
      r.probeWeight[l][n] = c.weight;
    }
    // Every choice, for the tooltips (top-2: both experts and their weights).
    r.choicesPerToken.push_back(std::max(layer.k, 1));
    std::vector<RoutedChoice>& choices = r.probeChoices.emplace_back(size_t(probe.rows) * size_t(std::max(layer.k, 1)));
    if (layer.k > 0)
      for (size_t at = 0; at < choices.size(); ++at) choices[at] = routedChoice(layer, at);
    // The sample sequence is the first probe sequence, rows 0 .. T-1.
    r.chosen.emplace_back(all[l].begin(), all[l].begin() + T);
    r.weight.emplace_back(r.probeWeight[l].begin(), r.probeWeight[l].begin() + T);
  }
  if (L > 1) r.flow = routingFlow(all, r.experts);
  r.probeChosen = std::move(all);
  return r;
}

}  // namespace rl::ui
