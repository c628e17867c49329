// tokenRoutingFromProbe: the token-routing view's data built from a hand-made Transformer probe
// (2 sequences of 3 tokens, 2 MoE layers of 3 and 2 experts, k = 2), where every answer can be
// worked out by hand: the top kept choice per token, dropped tokens as -1, token texts from the
// vocabulary's names, and the layer-to-layer flow over all 6 probe tokens.
#include <QtTest>
#include <stdexcept>

#include "run/token_routing_probe.h"

using namespace rl;
using namespace rl::ui;

namespace {

// Rows n = s·T + t. Each row lists its k = 2 choices as (expert, weight, slot).
struct Choice {
  int expert;
  float weight;
  int slot;
};
ProbeLayer layerOf(int experts, const std::vector<std::array<Choice, 2>>& rows) {
  ProbeLayer L;
  L.experts = experts;
  L.k = 2;
  for (const auto& row : rows)
    for (const Choice& c : row) {
      L.idx.push_back(c.expert);
      L.wt.push_back(c.weight);
      L.slot.push_back(c.slot);
    }
  L.probs.assign(rows.size() * experts, 1.0f / experts);
  return L;
}

Probe handMadeProbe() {
  Probe p;
  p.sequences = 2;
  p.length = 3;
  p.rows = 6;
  p.ids = {0, 2, 1, 1, 1, 7};  // id 7 has no name in a vocabulary of 3 names
  // Layer 1 (3 experts): row 1's first choice is dropped, so its kept choice is expert 0; row 4
  // loses both choices.
  p.layers.push_back(layerOf(3, {{{{2, 0.7f, 0}, {1, 0.3f, 0}}},
                                 {{{1, 0.6f, -1}, {0, 0.4f, 3}}},
                                 {{{0, 0.5f, 1}, {2, 0.5f, 2}}},
                                 {{{1, 0.9f, 1}, {2, 0.1f, 0}}},
                                 {{{2, 0.8f, -1}, {0, 0.2f, -1}}},
                                 {{{0, 0.55f, 0}, {1, 0.45f, 0}}}}));
  // Layer 2 (2 experts): every choice kept; the larger weight wins even when listed second.
  p.layers.push_back(layerOf(2, {{{{0, 0.2f, 0}, {1, 0.8f, 0}}},
                                 {{{0, 0.9f, 0}, {1, 0.1f, 0}}},
                                 {{{1, 0.6f, 0}, {0, 0.4f, 0}}},
                                 {{{0, 0.5f, 0}, {1, 0.5f, 0}}},
                                 {{{1, 0.7f, 0}, {0, 0.3f, 0}}},
                                 {{{1, 0.6f, 0}, {0, 0.4f, 0}}}}));
  return p;
}

}  // namespace

class TestTokenRoutingProbe : public QObject {
  Q_OBJECT

 private slots:
  void sampleSequenceIsTheFirstProbeSequence() {
    const TokenRouting r = tokenRoutingFromProbe(handMadeProbe(), {"a", "b", "c"});
    QCOMPARE(r.tokens, (std::vector<std::string>{"a", "c", "b"}));
    QCOMPARE(r.layers, 2);
    QCOMPARE(r.experts, (std::vector<int>{3, 2}));
    QCOMPARE(r.sequences, 2);
    QCOMPARE(r.chosen[0], (std::vector<int>{2, 0, 0}));  // row 2: a tie keeps the first listed
    QCOMPARE(r.weight[0][0], 0.7f);
    QCOMPARE(r.weight[0][1], 0.4f);  // the kept second choice's own weight
    QCOMPARE(r.chosen[1], (std::vector<int>{1, 0, 1}));
    QCOMPARE(r.weight[1][0], 0.8f);
    QCOMPARE(tokenRoutingProblem(r), std::string());
  }

  // Every probe token's texts, top choices, weights and all k choices are kept for browsing and
  // tooltips; the sequences' groups come from the probe's per-token labels.
  void everyProbeTokenIsRecorded() {
    Probe p = handMadeProbe();
    p.labels = {1, 1, 1, 0, 0, 0};
    const TokenRouting r = tokenRoutingFromProbe(p, {"a", "b", "c"});
    QCOMPARE(r.probeTokens, (std::vector<std::string>{"a", "c", "b", "b", "b", "7"}));
    QCOMPARE(r.probeChosen[0], (std::vector<int>{2, 0, 0, 1, -1, 0}));
    QCOMPARE(r.probeWeight[0][3], 0.9f);
    QCOMPARE(r.sequenceGroup, (std::vector<int>{1, 0}));
    QCOMPARE(r.choicesPerToken, (std::vector<int>{2, 2}));
    QCOMPARE(choicesOf(r, 0, 1), (std::vector<RoutedChoice>{{1, 0.6f, false}, {0, 0.4f, true}}));
    QCOMPARE(choicesOf(r, 1, 5), (std::vector<RoutedChoice>{{1, 0.6f, true}, {0, 0.4f, true}}));
    QVERIFY(choicesOf(r, 2, 0).empty() && choicesOf(r, 0, 6).empty());
    QCOMPARE(withSampleSequence(r, 1).tokens, (std::vector<std::string>{"b", "b", "7"}));
    QCOMPARE(tokenRoutingProblem(r), std::string());
    TokenRouting bad = r;
    bad.probeChoices[1][4].expert = 5;
    QCOMPARE(tokenRoutingProblem(bad), std::string("probeChoices[1] names expert 5 (weight 0.6) but layer 2 has 2 experts"));
  }

  void droppedTokensAreMinusOneAndLeaveTheFlow() {
    Probe p = handMadeProbe();
    QCOMPARE(topKeptChoice(p.layers[0], 4).expert, -1);
    QCOMPARE(topKeptChoice(p.layers[0], 4).weight, 0.0f);
    const TokenRouting r = tokenRoutingFromProbe(p, {"a", "b", "c"});
    // Layer-1 experts of rows 0..5: 2, 0, 0, 1, -1, 0; layer 2: 1, 0, 1, 0, 1, 1.
    // Flow counts the 5 tokens routed at both layers.
    const RoutingFlow expected{{{1, 2}, {1, 0}, {0, 1}}};
    QCOMPARE(r.flow, expected);
  }

  void unnamedIdsShowTheirNumber() {
    Probe p = handMadeProbe();
    p.ids = {7, 1, 0, 1, 1, 7};
    const TokenRouting r = tokenRoutingFromProbe(p, {"a", "b", "c"});
    QCOMPARE(r.tokens[0], std::string("7"));
  }

  void anMlpProbeIsRejected() {
    Probe p = handMadeProbe();
    p.sequences = 0;
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tokenRoutingFromProbe(p, {}));
  }
};

QTEST_MAIN(TestTokenRoutingProbe)
#include "test_token_routing_probe.moc"
