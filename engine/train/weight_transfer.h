#pragma once
// Carrying trained weights across an edit of the architecture. After a spec edit the app builds a
// new Session (freshly initialised from its seed) and copies into it every weight of the old one
// that still fits: a tensor whose name and shape are unchanged is copied whole; the router of an
// MoE layer whose expert count changed keeps the rows of the experts that survive (when its input
// width is unchanged); everything else stays at the new session's initialisation.
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "train/session.h"

namespace rl {

// Which old expert each new expert continues, per MoE layer (index j of moe.j): sourceOf[j][e] is
// the old expert index new expert e takes its weights and router row from, or -1 for a fresh
// expert. A layer without an entry (or an empty mapping) keeps expert e as expert e for
// e < min(old, new) count: adding experts appends fresh ones, removing drops the last ones. To
// remove expert 2 of 4, pass {0, 1, 3}.
struct ExpertMapping {
  std::vector<std::vector<int>> sourceOf;
};

struct WeightTransferReport {
  std::vector<std::string> kept;     // new tensors copied whole from the old weights
  std::vector<std::string> partial;  // router tensors that kept the surviving experts' rows
  std::vector<std::string> fresh;    // new tensors left at the new session's initialisation
  std::vector<std::string> dropped;  // old tensors none of whose values were carried over
};

// Copies what fits from `oldWeights` (Session::exportWeights of the old session) into `target`.
// Throws std::invalid_argument for a mapping that names an expert the old weights do not have.
WeightTransferReport transferWeights(const std::vector<NamedTensor>& oldWeights, Session& target,
                                     const ExpertMapping& mapping = {});

// "kept 12, router rows kept for moe.0.router.weight, fresh 4 (moe.0.experts.8.fc1.weight, …), dropped 0"
std::string describe(const WeightTransferReport& report);

}  // namespace rl
