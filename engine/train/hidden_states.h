#pragma once
// HiddenStates: what a MoE layer sees (or produces) for a fixed probe set, copied out of a
// Session (Session::hiddenStates) for t-SNE / PCA views. Values only, no pointers into a backend.
//
// Legend: R probe rows (the first R rows of the held-out split), D width of the representation,
// E experts and k chosen experts of a MoE layer. Transformer: S held-out sequences of T tokens,
// R = S T token rows (row s T + t is token t of sequence s, the probe's row order).
#include <cstdint>
#include <string>
#include <vector>

#include "train/session.h"

namespace rl {

// Which side of a MoE layer the rows are read at.
enum class HiddenSide {
  Input,   // the rows the router and the experts receive (Transformer: the block's LN2 output)
  Output,  // the gate-weighted combination of the chosen experts' outputs (Transformer: before
           // the residual add, so it is what the MoE block contributes, not the residual stream)
  Stream,  // Transformer only: the residual stream after the block (its input + attention + MoE),
           // what the next block (or the final layer norm) reads
};

// Extra per-row labels the data carries, to colour points by (task, language, position, token
// id). Empty for the MLP datasets; token datasets fill it.
struct RowLabels {
  std::string name;                // "task", "position", …
  bool ordinal = false;            // true: ordered values (position, token id), drawn as a ramp
  std::vector<int32_t> labels;     // [R], negative = none
  std::vector<std::string> names;  // optional, index = label
};

struct HiddenStates {
  int step = 0;                   // the session's step when they were read
  int layer = 0;                  // MoE layer index (0-based, as in Probe::layers)
  HiddenSide side = HiddenSide::Input;
  int rows = 0, dim = 0;
  std::vector<float> x;           // [R, D] row-major
  std::vector<int32_t> testRows;  // [R] index of each row in the held-out split (tokens: s T + t)
  std::vector<int32_t> labels;    // [R] class (regression: the data's region label, or -1;
                                  // tokens: the sequence's class, or its task/language for next_token)
  int classes = 0;                // 0 for regression without region labels
  std::vector<std::string> classNames;  // optional, index = class
  int sequenceLength = 0;         // T when the rows are tokens, else 0
  bool regression = false;        // labels are the data's regions, not classes
  std::vector<ProbeLayer> routing;  // every MoE layer: gate probabilities and chosen experts of the rows
  std::vector<RowLabels> extraLabels;
};

}  // namespace rl
