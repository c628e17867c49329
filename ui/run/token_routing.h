#pragma once
// Token routing of a Transformer with MoE layers, as a plain value the UI draws from: which expert
// each token of one sample sequence chose at every MoE layer, and how tokens flow between the
// experts of consecutive layers over the whole probe set. Plain std types (no Qt) so the
// training thread can fill it.
//
// Dimensions:
//   T   tokens of the sample sequence
//   L   MoE layers
//   E_l experts of MoE layer l
//   N   tokens of the probe set (all probe sequences concatenated), for the flow
#include <string>
#include <vector>

namespace rl::ui {

// A routing-flow matrix stack: flow[l][i][j] = probe tokens routed to expert i at layer l and to
// expert j at layer l + 1. Shape [L-1][E_l][E_{l+1}].
using RoutingFlow = std::vector<std::vector<std::vector<double>>>;

// One of a token's k choices at a layer: the expert (-1: none, e.g. an expert-choice column no
// expert took), its gate weight, and whether it got a slot (false: dropped at capacity).
struct RoutedChoice {
  int expert = -1;
  float weight = 0;
  bool kept = false;
  bool operator==(const RoutedChoice&) const = default;
};

struct TokenRouting {
  std::vector<std::string> tokens;         // [T] token texts of the sample sequence (UTF-8)
  int layers = 0;                          // L
  std::vector<int> experts;                // [L] experts per layer
  std::vector<std::vector<int>> chosen;    // [L][T] top expert per token; -1 = dropped (capacity) or not routed
  std::vector<std::vector<float>> weight;  // [L][T] gate weight of that expert (ignored where chosen is -1)
  RoutingFlow flow;                        // [L-1][E_l][E_{l+1}] token counts over the probe set
  int sequences = 0;                       // probe sequences the flow counts
  // Every probe sequence, for browsing them and for the flow of a selection of probe tokens
  // (rows n = s T + t; the sample sequence above is s = 0). Empty = not recorded.
  std::vector<std::vector<int>> probeChosen;    // [L][N] top kept expert, -1 = dropped
  std::vector<std::vector<float>> probeWeight;  // [L][N] its gate weight
  std::vector<std::string> probeTokens;         // [N] token texts
  std::vector<int> sequenceGroup;               // [S] each probe sequence's task / language id (-1: none)
  std::vector<int> choicesPerToken;                   // [L] k_l
  std::vector<std::vector<RoutedChoice>> probeChoices;  // [L][N k_l] every token's choices, in choice order

  bool operator==(const TokenRouting&) const = default;
};

// Adds one batch of probe tokens to `flow`. chosen[l][n] is token n's top expert at layer l (-1 =
// dropped or not routed); every layer lists the same N tokens in the same order. A token counts
// in flow[l] only when it was routed at both layer l and layer l + 1. `flow` is sized (zeros) on
// first use and must otherwise have the shape [L-1][E_l][E_{l+1}].
// Throws std::invalid_argument naming the layer, token and value on inconsistent input.
void accumulateRoutingFlow(RoutingFlow& flow, const std::vector<std::vector<int>>& chosen,
                           const std::vector<int>& experts);
// The flow of one set of probe tokens, from zero.
RoutingFlow routingFlow(const std::vector<std::vector<int>>& chosen, const std::vector<int>& experts);

// The flow of the probe tokens among `rows` (indices into probeChosen's N tokens; rows outside
// [0, N) are ignored, duplicates count once): what the view shows for a lasso selection. Throws
// std::invalid_argument when probeChosen is empty or inconsistent.
RoutingFlow selectionFlow(const TokenRouting& routing, const std::vector<int>& rows);

// Token n's choices at layer l (empty when not recorded or out of range).
std::vector<RoutedChoice> choicesOf(const TokenRouting& routing, int layer, int n);

// Probe sequences that can be shown as the sample: `sequences` when the probe arrays are recorded, else 1.
int browsableSequences(const TokenRouting& routing);
// `routing` with probe sequence s as the sample (its tokens, choices and weights); the flow and the
// probe arrays stay. s = 0 is `routing` itself. Throws std::invalid_argument when s is not in
// [0, browsableSequences).
TokenRouting withSampleSequence(const TokenRouting& routing, int s);

// Each row of `counts` divided by its sum; a row with no tokens stays all zero.
std::vector<std::vector<double>> rowShares(const std::vector<std::vector<double>>& counts);
double rowTotal(const std::vector<double>& row);

// Empty when `routing` is consistent (sizes agree with `layers`, `experts` and the token count,
// expert indices in range, weights finite, flow counts non-negative); else a sentence naming
// the first problem, e.g. "chosen[1][7] = 9 but layer 2 has 8 experts".
std::string tokenRoutingProblem(const TokenRouting& routing);

}  // namespace rl::ui
