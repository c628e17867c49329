// Session::hiddenStates: the rows a MoE layer receives and produces for the first held-out rows,
// over several eval batches, checked against the data itself (input of a first-layer MoE), a
// dense layer recomputed from the exported weights (input after a dense layer), the shared head
// recomputed from the MoE output (output side), and predict()'s routing of the same rows.
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
};

QTEST_MAIN(HiddenStatesTest)
#include "test_hidden_states.moc"
