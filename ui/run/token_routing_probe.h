#pragma once
// Builds the token-routing view's data (run/token_routing.h) from a Transformer session's probe:
// the sample sequence is the first probe sequence, the flow counts every probe token.
//
// Dimensions: S probe sequences, T tokens each, rows = S·T, k choices per token at a layer.
#include <string>
#include <vector>

#include "run/token_routing.h"
#include "train/session.h"

namespace rl::ui {

// Token n's expert at one layer: of its k choices, the one with the largest gate weight among
// those that got a slot (capacity); -1 when every choice was dropped. weight is that choice's gate
// weight (0 for -1).
struct TokenChoice {
  int expert = -1;
  float weight = 0;
};
TokenChoice topKeptChoice(const ProbeLayer& layer, int row);

// tokenNames[id] is the text of token id (TokenDataset::tokenNames); an id without a name shows as
// its number. Throws std::invalid_argument when the probe is not a token probe (no sequences).
TokenRouting tokenRoutingFromProbe(const Probe& probe, const std::vector<std::string>& tokenNames);

}  // namespace rl::ui
