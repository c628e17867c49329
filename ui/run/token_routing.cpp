#include "run/token_routing.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace rl::ui {

namespace {

std::string str(const std::ostringstream& s) { return s.str(); }

// Empty when `chosen` ([L][N]) fits `experts` ([L]) and every layer has `tokens` entries
// (tokens < 0: take the first layer's count); else the first problem.
std::string chosenProblem(const std::vector<std::vector<int>>& chosen, const std::vector<int>& experts, long tokens) {
  std::ostringstream s;
  if (chosen.size() != experts.size()) {
    s << "chosen has " << chosen.size() << " layers but experts lists " << experts.size();
    return str(s);
  }
  if (tokens < 0 && !chosen.empty()) tokens = long(chosen[0].size());
  for (size_t l = 0; l < chosen.size(); ++l) {
    if (experts[l] <= 0) {
      s << "experts[" << l << "] = " << experts[l] << " (a layer needs at least one expert)";
      return str(s);
    }
    if (long(chosen[l].size()) != tokens) {
      s << "chosen[" << l << "] has " << chosen[l].size() << " tokens but " << tokens << " were expected";
      return str(s);
    }
    for (size_t n = 0; n < chosen[l].size(); ++n) {
      const int e = chosen[l][n];
      if (e < -1 || e >= experts[l]) {
        s << "chosen[" << l << "][" << n << "] = " << e << " but layer " << l + 1 << " has " << experts[l]
          << " experts (use -1 for a dropped token)";
        return str(s);
      }
    }
  }
  return {};
}

// Empty when `flow` has the shape [L-1][E_l][E_{l+1}] with finite non-negative counts.
std::string flowProblem(const RoutingFlow& flow, const std::vector<int>& experts) {
  std::ostringstream s;
  const size_t pairs = experts.empty() ? 0 : experts.size() - 1;
  if (flow.size() != pairs) {
    s << "flow has " << flow.size() << " layer pairs but " << experts.size() << " layers need " << pairs;
    return str(s);
  }
  for (size_t l = 0; l < pairs; ++l) {
    if (long(flow[l].size()) != experts[l]) {
      s << "flow[" << l << "] has " << flow[l].size() << " rows but layer " << l + 1 << " has " << experts[l] << " experts";
      return str(s);
    }
    for (size_t i = 0; i < flow[l].size(); ++i) {
      if (long(flow[l][i].size()) != experts[l + 1]) {
        s << "flow[" << l << "][" << i << "] has " << flow[l][i].size() << " columns but layer " << l + 2 << " has "
          << experts[l + 1] << " experts";
        return str(s);
      }
      for (size_t j = 0; j < flow[l][i].size(); ++j) {
        const double c = flow[l][i][j];
        if (!std::isfinite(c) || c < 0) {
          s << "flow[" << l << "][" << i << "][" << j << "] = " << c << " is not a token count";
          return str(s);
        }
      }
    }
  }
  return {};
}

}  // namespace

void accumulateRoutingFlow(RoutingFlow& flow, const std::vector<std::vector<int>>& chosen,
                           const std::vector<int>& experts) {
  if (const std::string p = chosenProblem(chosen, experts, -1); !p.empty())
    throw std::invalid_argument("routing flow: " + p);
  const size_t pairs = experts.empty() ? 0 : experts.size() - 1;
  if (flow.empty() && pairs > 0) {
    flow.resize(pairs);
    for (size_t l = 0; l < pairs; ++l)
      flow[l].assign(size_t(experts[l]), std::vector<double>(size_t(experts[l + 1]), 0.0));
  }
  if (const std::string p = flowProblem(flow, experts); !p.empty()) throw std::invalid_argument("routing flow: " + p);
  for (size_t l = 0; l < pairs; ++l) {
    const std::vector<int>& from = chosen[l];  // [N]
    const std::vector<int>& to = chosen[l + 1];  // [N]
    for (size_t n = 0; n < from.size(); ++n)
      if (from[n] >= 0 && to[n] >= 0) flow[l][size_t(from[n])][size_t(to[n])] += 1;
  }
}

RoutingFlow routingFlow(const std::vector<std::vector<int>>& chosen, const std::vector<int>& experts) {
  RoutingFlow flow;
  accumulateRoutingFlow(flow, chosen, experts);
  return flow;
}

RoutingFlow selectionFlow(const TokenRouting& r, const std::vector<int>& rows) {
  if (r.probeChosen.empty()) throw std::invalid_argument("selection flow: the routing holds no per-token probe choices");
  const long N = long(r.probeChosen[0].size());
  std::vector<bool> taken(size_t(N), false);
  for (int row : rows)
    if (row >= 0 && row < N) taken[size_t(row)] = true;
  std::vector<std::vector<int>> chosen(r.probeChosen.size());  // [L][selected tokens]
  for (size_t l = 0; l < chosen.size(); ++l)
    for (long n = 0; n < long(r.probeChosen[l].size()) && n < N; ++n)
      if (taken[size_t(n)]) chosen[l].push_back(r.probeChosen[l][size_t(n)]);
  return routingFlow(chosen, r.experts);
}

std::vector<RoutedChoice> choicesOf(const TokenRouting& r, int layer, int n) {
  if (layer < 0 || layer >= int(r.probeChoices.size()) || layer >= int(r.choicesPerToken.size()) || n < 0) return {};
  const size_t k = size_t(r.choicesPerToken[size_t(layer)]), first = size_t(n) * k;
  const std::vector<RoutedChoice>& all = r.probeChoices[size_t(layer)];
  if (first + k > all.size()) return {};
  return {all.begin() + long(first), all.begin() + long(first + k)};
}

int browsableSequences(const TokenRouting& r) {
  return !r.probeChosen.empty() && !r.probeTokens.empty() && r.sequences > 1 ? r.sequences : 1;
}

TokenRouting withSampleSequence(const TokenRouting& r, int s) {
  if (s < 0 || s >= browsableSequences(r))
    throw std::invalid_argument("token routing: probe sequence " + std::to_string(s) + " is not one of the " +
                                std::to_string(browsableSequences(r)) + " that can be shown");
  if (s == 0) return r;
  TokenRouting out = r;
  const size_t T = r.tokens.size(), first = size_t(s) * T;
  out.tokens.assign(r.probeTokens.begin() + long(first), r.probeTokens.begin() + long(first + T));
  for (size_t l = 0; l < r.chosen.size(); ++l) {
    out.chosen[l].assign(r.probeChosen[l].begin() + long(first), r.probeChosen[l].begin() + long(first + T));
    out.weight[l].assign(r.probeWeight[l].begin() + long(first), r.probeWeight[l].begin() + long(first + T));
  }
  return out;
}

double rowTotal(const std::vector<double>& row) {
  double total = 0;
  for (double c : row) total += c;
  return total;
}

std::vector<std::vector<double>> rowShares(const std::vector<std::vector<double>>& counts) {
  std::vector<std::vector<double>> shares = counts;
  for (std::vector<double>& row : shares) {
    const double total = rowTotal(row);
    for (double& c : row) c = total > 0 ? c / total : 0.0;
  }
  return shares;
}

std::string tokenRoutingProblem(const TokenRouting& r) {
  std::ostringstream s;
  if (r.layers < 1) {
    s << "layers = " << r.layers << " (token routing needs at least one MoE layer)";
    return str(s);
  }
  if (long(r.experts.size()) != r.layers) {
    s << "experts lists " << r.experts.size() << " layers but layers = " << r.layers;
    return str(s);
  }
  if (const std::string p = chosenProblem(r.chosen, r.experts, long(r.tokens.size())); !p.empty()) return p;
  if (r.weight.size() != r.chosen.size()) {
    s << "weight has " << r.weight.size() << " layers but layers = " << r.layers;
    return str(s);
  }
  for (size_t l = 0; l < r.weight.size(); ++l) {
    if (r.weight[l].size() != r.tokens.size()) {
      s << "weight[" << l << "] has " << r.weight[l].size() << " tokens but the sequence has " << r.tokens.size();
      return str(s);
    }
    for (size_t t = 0; t < r.weight[l].size(); ++t)
      if (r.chosen[l][t] >= 0 && !std::isfinite(r.weight[l][t])) {
        s << "weight[" << l << "][" << t << "] is not finite";
        return str(s);
      }
  }
  if (r.sequences < 0) {
    s << "sequences = " << r.sequences;
    return str(s);
  }
  if (!r.probeChosen.empty()) {
    if (const std::string p = chosenProblem(r.probeChosen, r.experts, -1); !p.empty()) return "probe " + p;
    const size_t N = r.probeChosen[0].size();
    if (!r.probeTokens.empty() && (r.probeTokens.size() != N || N != size_t(r.sequences) * r.tokens.size())) {
      s << "the probe lists " << r.probeTokens.size() << " token texts and " << N << " choices for " << r.sequences
        << " sequences of " << r.tokens.size() << " tokens";
      return str(s);
    }
    if (!r.probeWeight.empty() && (r.probeWeight.size() != r.probeChosen.size() || r.probeWeight[0].size() != N)) {
      s << "probeWeight is not shaped like probeChosen [" << r.probeChosen.size() << "][" << N << "]";
      return str(s);
    }
    if (!r.probeTokens.empty() && r.probeWeight.empty()) return "the probe lists token texts but no gate weights";
  }
  if (!r.probeChoices.empty()) {
    const size_t N = r.probeChosen.empty() ? 0 : r.probeChosen[0].size();
    if (r.probeChoices.size() != size_t(r.layers) || r.choicesPerToken.size() != size_t(r.layers))
      return "probeChoices / choicesPerToken do not list every layer";
    for (size_t l = 0; l < r.probeChoices.size(); ++l) {
      if (r.choicesPerToken[l] < 1 || r.probeChoices[l].size() != N * size_t(r.choicesPerToken[l])) {
        s << "probeChoices[" << l << "] has " << r.probeChoices[l].size() << " entries, not " << N << " tokens x k = "
          << r.choicesPerToken[l];
        return str(s);
      }
      for (const RoutedChoice& c : r.probeChoices[l])
        if (c.expert < -1 || c.expert >= r.experts[l] || !std::isfinite(c.weight)) {
          s << "probeChoices[" << l << "] names expert " << c.expert << " (weight " << c.weight << ") but layer " << l + 1
            << " has " << r.experts[l] << " experts";
          return str(s);
        }
    }
  }
  if (!r.sequenceGroup.empty() && long(r.sequenceGroup.size()) != r.sequences) {
    s << "sequenceGroup has " << r.sequenceGroup.size() << " entries for " << r.sequences << " sequences";
    return str(s);
  }
  // A snapshot taken before any probe pass has no flow yet; that is not a problem.
  if (r.flow.empty()) return {};
  return flowProblem(r.flow, r.experts);
}

}  // namespace rl::ui
