#include "run/token_routing_probe.h"

#include <stdexcept>

namespace rl::ui {

TokenChoice topKeptChoice(const ProbeLayer& layer, int row) {
  TokenChoice best;
  const size_t base = static_cast<size_t>(row) * layer.k;
  for (int j = 0; j < layer.k; ++j) {
    const size_t at = base + j;
    if (at >= layer.idx.size() || at >= layer.wt.size()) break;
    const bool kept = at >= layer.slot.size() || layer.slot[at] >= 0;
    if (!kept || layer.idx[at] < 0 || layer.idx[at] >= layer.experts) continue;
    if (best.expert < 0 || layer.wt[at] > best.weight) best = {layer.idx[at], layer.wt[at]};
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
  for (int t = 0; t < T; ++t) {
    const int id = t < static_cast<int>(probe.ids.size()) ? probe.ids[t] : -1;
    r.tokens.push_back(id >= 0 && id < static_cast<int>(tokenNames.size()) ? tokenNames[id] : std::to_string(id));
  }
  std::vector<std::vector<int>> all(L, std::vector<int>(probe.rows, -1));  // [L][S·T]
  for (int l = 0; l < L; ++l) {
    const ProbeLayer& layer = probe.layers[l];
    r.experts.push_back(layer.experts);
    for (int n = 0; n < probe.rows; ++n) all[l][n] = topKeptChoice(layer, n).expert;
    std::vector<int> chosen(T, -1);
    std::vector<float> weight(T, 0.0f);
    for (int t = 0; t < T; ++t) {
      const TokenChoice c = topKeptChoice(layer, t);  // the sample sequence is rows 0 .. T-1
      chosen[t] = c.expert;
      weight[t] = c.weight;
    }
    r.chosen.push_back(std::move(chosen));
    r.weight.push_back(std::move(weight));
  }
  if (L > 1) r.flow = routingFlow(all, r.experts);
  r.probeChosen = std::move(all);  // for the flow of a lasso selection
  return r;
}

}  // namespace rl::ui
