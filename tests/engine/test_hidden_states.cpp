// Session::hiddenStates: the rows a MoE layer receives and produces for the first held-out rows,
// over several eval batches, checked against the data itself (input of a first-layer MoE), a
// dense layer recomputed from the exported weights (input after a dense layer), the shared head
// recomputed from the MoE output (output side), and predict()'s routing of the same rows.
// Transformer: the rows are the tokens of whole held-out sequences; the input side is checked
// against the router (softmax of the exported router weights times the rows gives the gate
// probabilities), the output side against the experts recomputed from the exported weights, the
// routing against probeSequences(), the labels against the token dataset.
#include <QtTest>

#include <cmath>

#include "spec/presets.h"
#include "train/hidden_states.h"
#include "train/session.h"

using namespace rl;

namespace {

Session cpuSession(Spec spec) { return Session(std::move(spec), createBackend(BackendChoice::Cpu)); }

const NamedTensor& tensor(const std::vector<NamedTensor>& all, const std::string& name) {
  for (const NamedTensor& t : all)
    if (t.name == name) return t;
  qFatal("no tensor %s", name.c_str());
}

// Float sums in a different order than the engine's: a few ulps of the values (|v| < 10).
constexpr float kTolerance = 1e-4f;

float gelu(float z) { return 0.5f * z * (1.0f + std::tanh(0.7978845608028654f * (z + 0.044715f * z * z * z))); }

// A few training steps: the routing is no longer the initial one (cheap on the CPU backend).
void train(Session& s, int steps) {
  for (int i = 0; i < steps; ++i) s.step();
}

}  // namespace

class HiddenStatesTest : public QObject {
  Q_OBJECT
 private slots:
  void inputOfAFirstLayerMoeIsTheDataOverSeveralEvalBatches() {
    Spec spec = loadPreset("spiral-moe");
    spec.data.samples = 12000;  // 2,400 held-out rows: more than one eval batch (2,048)
    Session s = cpuSession(spec);
    for (int i = 0; i < 5; ++i) s.step();
    const Dataset& test = s.data().test;
    QVERIFY(test.size() > 2048);
    const int rows = 2300;
    const HiddenStates h = s.hiddenStates(0, rows, HiddenSide::Input);
    QCOMPARE(h.rows, rows);
    QCOMPARE(h.dim, test.inputDim);
    QCOMPARE(h.step, 5);
    QCOMPARE(int(h.x.size()), rows * test.inputDim);
    for (int i = 0; i < rows * test.inputDim; ++i)
      QVERIFY2(h.x[i] == test.x[i], qPrintable(QString("value %1: %2 vs %3").arg(i).arg(h.x[i]).arg(test.x[i])));
    for (int r = 0; r < rows; ++r) QCOMPARE(h.labels[r], test.label[r]);
    QCOMPARE(h.classes, test.classes);
    // Routing: the same as predict() gives for the same rows, in the same order.
    const Probe p = s.predict(std::vector<float>(test.x.begin(), test.x.begin() + rows * test.inputDim),
                              std::vector<int32_t>(test.label.begin(), test.label.begin() + rows));
    QCOMPARE(h.routing.size(), p.layers.size());
    QCOMPARE(h.routing[0].probs.size(), p.layers[0].probs.size());
    QVERIFY(h.routing[0].probs == p.layers[0].probs);
    QVERIFY(h.routing[0].idx == p.layers[0].idx);
    // Asking for more rows than the split has gives the whole split.
    QCOMPARE(s.hiddenStates(0, 100000, HiddenSide::Input).rows, int(test.size()));
  }

  void outputSideFeedsTheHead() {
    Session s = cpuSession(loadPreset("spiral-moe"));
    for (int i = 0; i < 20; ++i) s.step();
    const HiddenStates h = s.hiddenStates(0, 300, HiddenSide::Output);
    const auto weights = s.exportWeights();
    const NamedTensor& w = tensor(weights, "head.weight");  // [out, D]
    const NamedTensor& b = tensor(weights, "head.bias");
    const int out = int(w.shape[0]);
    QCOMPARE(h.dim, int(w.shape[1]));
    const Dataset& test = s.data().test;
    const Probe p = s.predict(std::vector<float>(test.x.begin(), test.x.begin() + 300 * test.inputDim),
                              std::vector<int32_t>(test.label.begin(), test.label.begin() + 300));
    for (int r = 0; r < h.rows; ++r)
      for (int o = 0; o < out; ++o) {
        double v = b.data[o];
        for (int d = 0; d < h.dim; ++d) v += double(w.data[o * h.dim + d]) * h.x[size_t(r) * h.dim + d];
        const float got = p.prediction[size_t(r) * out + o];
        QVERIFY2(std::abs(float(v) - got) < kTolerance,
                 qPrintable(QString("row %1 output %2: head(moe output) %3, prediction %4").arg(r).arg(o).arg(v).arg(got)));
      }
  }

  void inputAfterADenseLayerIsThatLayersActivation() {
    Spec spec = loadPreset("spiral-moe");
    LayerSpec dense;
    dense.type = LayerType::Dense;
    dense.units = 16;
    dense.activation = Activation::Relu;
    spec.model.layers.insert(spec.model.layers.begin(), dense);
    Session s = cpuSession(spec);
    for (int i = 0; i < 10; ++i) s.step();
    const HiddenStates h = s.hiddenStates(0, 200, HiddenSide::Input);
    QCOMPARE(h.dim, 16);
    const auto weights = s.exportWeights();
    const NamedTensor& w = tensor(weights, "dense.0.weight");  // [16, 2]
    const NamedTensor& b = tensor(weights, "dense.0.bias");
    const Dataset& test = s.data().test;
    int positive = 0;
    for (int r = 0; r < h.rows; ++r)
      for (int u = 0; u < 16; ++u) {
        double v = b.data[u];
        for (int i = 0; i < test.inputDim; ++i) v += double(w.data[u * test.inputDim + i]) * test.x[size_t(r) * test.inputDim + i];
        v = std::max(0.0, v);
        positive += v > 0;
        const float got = h.x[size_t(r) * 16 + u];
        QVERIFY2(std::abs(float(v) - got) < kTolerance,
                 qPrintable(QString("row %1 unit %2: relu(Wx+b) %3, hidden %4").arg(r).arg(u).arg(v).arg(got)));
      }
    QVERIFY(positive > 0);  // not all zeros
  }

  void badLayerOrRowCountIsAClearError() {
    Session s = cpuSession(loadPreset("spiral-moe"));
    try {
      s.hiddenStates(3, 10, HiddenSide::Input);
      QFAIL("no error for a missing layer");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(QString(e.what()).contains("MoE layer 3 does not exist"), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, s.hiddenStates(0, 0, HiddenSide::Input));
  }

  void transformerRowsAreTheTokensOfWholeSequences() {
    Session s = cpuSession(loadPreset("tiny-transformer-moe"));
    train(s, 10);
    const TokenDataset& test = s.tokens().test;
    const int T = test.length;
    QCOMPARE(T, 12);
    QCOMPARE(s.model().eval.batch, 32);  // sequences per eval batch: 1000 rows (83 sequences) need 3
    const HiddenStates h = s.hiddenStates(1, 1000, HiddenSide::Input);
    const int S = 1000 / T;
    QCOMPARE(h.rows, S * T);
    QCOMPARE(h.sequenceLength, T);
    QCOMPARE(h.dim, s.spec().model.transformer.dModel);
    QCOMPARE(int(h.x.size()), h.rows * h.dim);
    QCOMPARE(h.step, 10);
    for (int r = 0; r < h.rows; ++r) {
      QCOMPARE(h.testRows[r], r);
      QCOMPARE(h.labels[r], test.sequenceClass[r / T]);
    }
    QCOMPARE(h.classes, test.classes);
    QVERIFY(h.classNames == test.classNames);
    // Extra labels: task, position, token id and role, named as the data names them.
    auto extra = [&](const std::string& name) -> const RowLabels& {
      for (const RowLabels& l : h.extraLabels)
        if (l.name == name) return l;
      qFatal("no extra label %s", name.c_str());
    };
    const std::vector<int32_t> firstTokens(test.ids.begin(), test.ids.begin() + h.rows);
    QVERIFY(extra("task").labels == std::vector<int32_t>(test.taskLabel.begin(), test.taskLabel.begin() + h.rows));
    QVERIFY(extra("task").names == test.taskNames);
    QVERIFY(!extra("task").ordinal);
    QVERIFY(extra("position").labels == std::vector<int32_t>(test.position.begin(), test.position.begin() + h.rows));
    QCOMPARE(extra("position").labels[T + 5], 5);
    QVERIFY(extra("position").ordinal);
    QVERIFY(extra("token").labels == firstTokens);
    QVERIFY(extra("token").names == test.tokenNames);
    QVERIFY(extra("role").labels == std::vector<int32_t>(test.role.begin(), test.role.begin() + h.rows));
    // Routing: every layer's, equal to probeSequences() of the same sequences (one call, its own
    // batching), token for token.
    std::vector<uint32_t> sequences(S);
    for (int i = 0; i < S; ++i) sequences[i] = uint32_t(i);
    const Probe p = s.probeSequences(sequences);
    QCOMPARE(p.rows, h.rows);
    QCOMPARE(h.routing.size(), size_t(2));
    for (size_t j = 0; j < h.routing.size(); ++j) {
      QVERIFY(h.routing[j].idx == p.layers[j].idx);
      QVERIFY(h.routing[j].probs == p.layers[j].probs);
      QVERIFY(h.routing[j].slot == p.layers[j].slot);
    }
    // The rows are what the router reads: softmax(router weight · row) is the gate distribution.
    const auto weights = s.exportWeights();
    const NamedTensor& w = tensor(weights, "layers.1.moe.router.weight");  // [E, D]
    const int E = int(w.shape[0]);
    QCOMPARE(int(w.shape[1]), h.dim);
    for (int r = 0; r < h.rows; ++r) {
      std::vector<double> z(E);
      double mx = -1e30, sum = 0;
      for (int e = 0; e < E; ++e) {
        for (int d = 0; d < h.dim; ++d) z[e] += double(w.data[e * h.dim + d]) * h.x[size_t(r) * h.dim + d];
        mx = std::max(mx, z[e]);
      }
      for (int e = 0; e < E; ++e) sum += std::exp(z[e] - mx);
      for (int e = 0; e < E; ++e) {
        const double want = std::exp(z[e] - mx) / sum;
        const float got = h.routing[1].probs[size_t(r) * E + e];
        QVERIFY2(std::abs(float(want) - got) < kTolerance,
                 qPrintable(QString("token %1 expert %2: softmax(W row) %3, gate probability %4").arg(r).arg(e).arg(want).arg(got)));
      }
    }
  }

  void transformerOutputSideIsTheGateWeightedExperts() {
    Session s = cpuSession(loadPreset("tiny-transformer-moe"));
    train(s, 10);
    const HiddenStates in = s.hiddenStates(0, 120, HiddenSide::Input);
    const HiddenStates out = s.hiddenStates(0, 120, HiddenSide::Output);
    QCOMPARE(out.rows, 120);
    QCOMPARE(out.dim, in.dim);
    QVERIFY(in.routing[0].idx == out.routing[0].idx);
    const auto weights = s.exportWeights();
    const ProbeLayer& L = out.routing[0];
    const int D = in.dim;
    int dropped = 0;
    for (int r = 0; r < out.rows; ++r) {
      std::vector<double> y(D, 0.0);
      for (int j = 0; j < L.k; ++j) {
        const size_t c = size_t(r) * L.k + j;
        if (L.slot[c] < 0) {  // over capacity: the expert does not see the token
          ++dropped;
          continue;
        }
        const std::string e = "layers.0.moe.experts." + std::to_string(L.idx[c]);
        const NamedTensor& w1 = tensor(weights, e + ".fc1.weight");  // [W, D]
        const NamedTensor& b1 = tensor(weights, e + ".fc1.bias");
        const NamedTensor& w2 = tensor(weights, e + ".fc2.weight");  // [D, W]
        const NamedTensor& b2 = tensor(weights, e + ".fc2.bias");
        const int W = int(w1.shape[0]);
        std::vector<float> a(W);
        for (int u = 0; u < W; ++u) {
          double v = b1.data[u];
          for (int d = 0; d < D; ++d) v += double(w1.data[u * D + d]) * in.x[size_t(r) * D + d];
          a[u] = gelu(float(v));
        }
        for (int d = 0; d < D; ++d) {
          double v = b2.data[d];
          for (int u = 0; u < W; ++u) v += double(w2.data[d * W + u]) * a[u];
          y[d] += L.wt[c] * v;
        }
      }
      for (int d = 0; d < D; ++d) {
        const float got = out.x[size_t(r) * D + d];
        QVERIFY2(std::abs(float(y[d]) - got) < kTolerance,
                 qPrintable(QString("token %1 unit %2: experts %3, output side %4").arg(r).arg(d).arg(y[d]).arg(got)));
      }
    }
    qInfo("%d of %d token choices dropped", dropped, out.rows * L.k);
  }

  // The residual stream after a block is what came into its MoE sub-block plus the MoE output:
  // the stream minus the output side, through the block's LN2, gives back the input side. And the
  // last block's stream is what the head reads: ln_f, the mean over each sequence, the head.
  void transformerStreamSideIsTheResidualStreamAfterTheBlock() {
    Session s = cpuSession(loadPreset("tiny-transformer-moe"));
    train(s, 10);
    const auto weights = s.exportWeights();
    const int layers = int(s.spec().model.transformer.layers.size());
    auto layerNorm = [](const float* x, int D, const NamedTensor& w, const NamedTensor& b, std::vector<double>& y) {
      double mean = 0, var = 0;
      for (int d = 0; d < D; ++d) mean += x[d];
      mean /= D;
      for (int d = 0; d < D; ++d) var += (x[d] - mean) * (x[d] - mean);
      const double rstd = 1.0 / std::sqrt(var / D + 1e-5);
      y.resize(size_t(D));
      for (int d = 0; d < D; ++d) y[size_t(d)] = (x[d] - mean) * rstd * w.data[size_t(d)] + b.data[size_t(d)];
    };
    for (int l = 0; l < layers; ++l) {
      const HiddenStates in = s.hiddenStates(l, 120, HiddenSide::Input);
      const HiddenStates out = s.hiddenStates(l, 120, HiddenSide::Output);
      const HiddenStates stream = s.hiddenStates(l, 120, HiddenSide::Stream);
      QCOMPARE(stream.rows, 120);
      QCOMPARE(stream.side, HiddenSide::Stream);
      QVERIFY(stream.routing[size_t(l)].idx == in.routing[size_t(l)].idx);
      const int D = stream.dim;
      QCOMPARE(D, in.dim);
      const std::string p = "layers." + std::to_string(l) + ".ln2.";
      std::vector<float> before(static_cast<size_t>(D));
      std::vector<double> y;
      for (int r = 0; r < stream.rows; ++r) {
        for (int d = 0; d < D; ++d) before[size_t(d)] = stream.x[size_t(r) * D + d] - out.x[size_t(r) * D + d];
        layerNorm(before.data(), D, tensor(weights, p + "weight"), tensor(weights, p + "bias"), y);
        for (int d = 0; d < D; ++d)
          QVERIFY2(std::abs(float(y[size_t(d)]) - in.x[size_t(r) * D + d]) < kTolerance,
                   qPrintable(QString("layer %1 token %2 unit %3: LN2(stream - output) %4, input side %5")
                                  .arg(l).arg(r).arg(d).arg(y[size_t(d)]).arg(in.x[size_t(r) * D + d])));
      }
    }
    // The last stream, through ln_f, mean pool and the head, gives the model's predictions.
    const HiddenStates last = s.hiddenStates(layers - 1, 120, HiddenSide::Stream);
    const int D = last.dim, T = last.sequenceLength;
    const NamedTensor& hw = tensor(weights, "head.weight");  // [C, D]
    const NamedTensor& hb = tensor(weights, "head.bias");
    const int C = int(hw.shape[0]);
    const TokenDataset& test = s.tokens().test;
    const int S = last.rows / T;
    const std::vector<int32_t> ids(test.ids.begin(), test.ids.begin() + long(S) * T);
    const std::vector<int32_t> groups(test.group.begin(), test.group.begin() + S);
    const Probe probe = s.predictSequences(ids, groups);
    QCOMPARE(int(probe.prediction.size()), S * C);
    std::vector<double> y;
    for (int q = 0; q < S; ++q) {
      std::vector<double> pooled(size_t(D), 0.0);
      for (int t = 0; t < T; ++t) {
        layerNorm(last.x.data() + size_t(q * T + t) * D, D, tensor(weights, "ln_f.weight"), tensor(weights, "ln_f.bias"), y);
        for (int d = 0; d < D; ++d) pooled[size_t(d)] += y[size_t(d)] / T;
      }
      for (int c = 0; c < C; ++c) {
        double logit = hb.data[size_t(c)];
        for (int d = 0; d < D; ++d) logit += double(hw.data[size_t(c * D + d)]) * pooled[size_t(d)];
        const float got = probe.prediction[size_t(q * C + c)];
        QVERIFY2(std::abs(float(logit) - got) < kTolerance,
                 qPrintable(QString("sequence %1 class %2: head(last stream) %3, model %4").arg(q).arg(c).arg(logit).arg(got)));
      }
    }
  }

  void mlpHasNoStreamSide() {
    Session s = cpuSession(loadPreset(kDefaultPreset));
    try {
      s.hiddenStates(0, 10, HiddenSide::Stream);
      QFAIL("no error for the stream side of an MLP");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(QString(e.what()).contains("only a Transformer has a residual stream"), e.what());
    }
  }

  void transformerRowCountsAreWholeSequencesOrAClearError() {
    Session s = cpuSession(loadPreset("tiny-transformer-moe"));
    train(s, 10);
    QCOMPARE(s.hiddenStates(0, 12, HiddenSide::Input).rows, 12);
    QCOMPARE(s.hiddenStates(0, 35, HiddenSide::Input).rows, 24);  // whole sequences only
    QCOMPARE(s.hiddenStates(0, 1000000, HiddenSide::Input).rows, int(s.tokens().test.size()) * 12);
    try {
      s.hiddenStates(0, 11, HiddenSide::Input);
      QFAIL("no error for fewer rows than one sequence");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(QString(e.what()).contains("less than one sequence (12 tokens)"), e.what());
    }
    try {
      s.hiddenStates(2, 100, HiddenSide::Output);
      QFAIL("no error for a missing layer");
    } catch (const std::invalid_argument& e) {
      QVERIFY2(QString(e.what()).contains("MoE layer 2 does not exist (the model has 2)"), e.what());
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, s.hiddenStates(0, -5, HiddenSide::Input));
  }

  void multiLanguageTokensCarryTheirLanguage() {
    Spec spec = loadPreset("tiny-transformer-moe");
    spec.data.kind = "multi_language";
    spec.data.languages = 3;
    spec.data.vocabulary = spec.model.transformer.vocabulary = 64;
    spec.model.transformer.task = SequenceTask::NextToken;
    spec.model.transformer.causal = true;
    for (TransformerLayerSpec& L : spec.model.transformer.layers) L.router.capacityFactor = 0;  // top-2 next_token: no limit
    Session s = cpuSession(spec);
    s.step();
    const TokenDataset& test = s.tokens().test;
    const HiddenStates h = s.hiddenStates(0, 240, HiddenSide::Input);
    QCOMPARE(h.rows, 240);
    QCOMPARE(h.extraLabels[0].name, std::string("language"));
    QVERIFY(h.extraLabels[0].labels == std::vector<int32_t>(test.languageLabel.begin(), test.languageLabel.begin() + 240));
    QVERIFY(h.extraLabels[0].names == test.languageNames);
    // next_token has no sequence class: the class is the sequence's main language.
    QCOMPARE(h.classes, 3);
    for (int r = 0; r < h.rows; ++r) QCOMPARE(h.labels[r], test.group[r / 12]);
    QVERIFY(h.classNames == test.languageNames);
  }
};

QTEST_MAIN(HiddenStatesTest)
#include "test_hidden_states.moc"
