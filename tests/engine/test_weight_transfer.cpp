// Carrying weights across architecture edits (train/weight_transfer.h): what fits is copied bit for
// bit, the rest is the new session's own initialisation, and the report says which is which.
#include "test_support.h"

#include <algorithm>
#include <map>

#include "spec/presets.h"
#include "train/session.h"
#include "train/weight_transfer.h"

using namespace rl;

namespace {

BackendSelection cpu() { return createBackend(BackendChoice::Cpu); }

Spec baseSpec() {
  Spec s = loadPreset(kDefaultPreset);  // one MoE layer, 8 experts 2 -> 32 -> 32, head to 4 classes
  s.data.samples = 800;
  return s;
}

std::map<std::string, NamedTensor> byName(const std::vector<NamedTensor>& ts) {
  std::map<std::string, NamedTensor> m;
  for (const auto& t : ts) m[t.name] = t;
  return m;
}

std::vector<NamedTensor> trainedWeights(const Spec& spec, int steps) {
  Session s(spec, cpu());
  for (int i = 0; i < steps; ++i) s.step();
  return s.exportWeights();
}

std::string expert(int e, const std::string& rest) { return "moe.0.experts." + std::to_string(e) + "." + rest; }
const std::vector<std::string> kExpertParts{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};

std::vector<float> row(const NamedTensor& t, int r) {
  const long w = t.shape.at(1);
  return {t.data.begin() + r * w, t.data.begin() + (r + 1) * w};
}

bool contains(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Exact equality, bit for bit (no tolerance: a transfer copies values).
#define EXPECT_SAME(a, b, what) QVERIFY2((a) == (b), qPrintable(QString("%1 differs").arg(QString::fromStdString(what))))
#define EXPECT_DIFFERENT(a, b, what) QVERIFY2((a) != (b), qPrintable(QString("%1 unchanged").arg(QString::fromStdString(what))))

}  // namespace

class TestWeightTransfer : public QObject {
  Q_OBJECT
 private slots:
  void addingAnExpertKeepsTheOthers() {
    const Spec oldSpec = baseSpec();
    auto old = byName(trainedWeights(oldSpec, 30));
    Spec newSpec = oldSpec;
    newSpec.model.layers[0].experts = 9;
    Session target(newSpec, cpu());
    const auto fresh = byName(Session(newSpec, cpu()).exportWeights());
    WeightTransferReport r = transferWeights(trainedWeights(oldSpec, 30), target);
    auto now = byName(target.exportWeights());

    for (int e = 0; e < 8; ++e)
      for (const auto& part : kExpertParts) {
        EXPECT_SAME(now.at(expert(e, part)).data, old.at(expert(e, part)).data, expert(e, part));
        EXPECT_DIFFERENT(now.at(expert(e, part)).data, fresh.at(expert(e, part)).data, expert(e, part));
        QVERIFY(contains(r.kept, expert(e, part)));
      }
    for (const auto& part : kExpertParts) {
      EXPECT_SAME(now.at(expert(8, part)).data, fresh.at(expert(8, part)).data, expert(8, part));
      QVERIFY(contains(r.fresh, expert(8, part)));
    }
    // Router: the eight trained rows survive, the new expert's row is the fresh initialisation.
    const auto& router = now.at("moe.0.router.weight");
    QCOMPARE(router.shape, (std::vector<int64_t>{9, 2}));
    for (int e = 0; e < 8; ++e) EXPECT_SAME(row(router, e), row(old.at("moe.0.router.weight"), e), "router row");
    EXPECT_SAME(row(router, 8), row(fresh.at("moe.0.router.weight"), 8), "new router row");
    QCOMPARE(r.partial, std::vector<std::string>{"moe.0.router.weight"});
    EXPECT_SAME(now.at("head.weight").data, old.at("head.weight").data, std::string("head.weight"));
    QVERIFY(r.dropped.empty());
    QCOMPARE(r.fresh.size(), kExpertParts.size());
    qInfo("%s", describe(r).c_str());
  }

  void removingTheLastExpertDropsOnlyIt() {
    const Spec oldSpec = baseSpec();
    auto oldList = trainedWeights(oldSpec, 20);
    auto old = byName(oldList);
    Spec newSpec = oldSpec;
    newSpec.model.layers[0].experts = 7;
    Session target(newSpec, cpu());
    WeightTransferReport r = transferWeights(oldList, target);
    auto now = byName(target.exportWeights());
    std::vector<std::string> expectDropped;
    for (const auto& part : kExpertParts) expectDropped.push_back(expert(7, part));
    std::sort(expectDropped.begin(), expectDropped.end());
    std::sort(r.dropped.begin(), r.dropped.end());
    QCOMPARE(r.dropped, expectDropped);
    QVERIFY(r.fresh.empty());
    for (int e = 0; e < 7; ++e) {
      for (const auto& part : kExpertParts) EXPECT_SAME(now.at(expert(e, part)).data, old.at(expert(e, part)).data, expert(e, part));
      EXPECT_SAME(row(now.at("moe.0.router.weight"), e), row(old.at("moe.0.router.weight"), e), "router row");
    }
  }

  void removingAMiddleExpertByMapping() {
    const Spec oldSpec = baseSpec();
    auto oldList = trainedWeights(oldSpec, 20);
    auto old = byName(oldList);
    Spec newSpec = oldSpec;
    newSpec.model.layers[0].experts = 7;
    Session target(newSpec, cpu());
    WeightTransferReport r = transferWeights(oldList, target, ExpertMapping{{{0, 1, 3, 4, 5, 6, 7}}});
    auto now = byName(target.exportWeights());
    const std::vector<int> source{0, 1, 3, 4, 5, 6, 7};
    for (int e = 0; e < 7; ++e) {
      for (const auto& part : kExpertParts)
        EXPECT_SAME(now.at(expert(e, part)).data, old.at(expert(source[e], part)).data, expert(e, part));
      EXPECT_SAME(row(now.at("moe.0.router.weight"), e), row(old.at("moe.0.router.weight"), source[e]), "router row");
    }
    for (const auto& part : kExpertParts) QVERIFY(contains(r.dropped, expert(2, part)));
    QCOMPARE(r.dropped.size(), kExpertParts.size());
  }

  void widthChangeDropsOnlyMismatchingTensors() {
    const Spec oldSpec = baseSpec();
    auto oldList = trainedWeights(oldSpec, 20);
    auto old = byName(oldList);
    Spec newSpec = oldSpec;
    newSpec.model.layers[0].expertWidths = {32, 16};  // fc2 and the head's input change
    Session target(newSpec, cpu());
    const auto fresh = byName(Session(newSpec, cpu()).exportWeights());
    WeightTransferReport r = transferWeights(oldList, target);
    auto now = byName(target.exportWeights());
    for (int e = 0; e < 8; ++e) {
      EXPECT_SAME(now.at(expert(e, "fc1.weight")).data, old.at(expert(e, "fc1.weight")).data, expert(e, "fc1.weight"));
      EXPECT_SAME(now.at(expert(e, "fc1.bias")).data, old.at(expert(e, "fc1.bias")).data, expert(e, "fc1.bias"));
      EXPECT_SAME(now.at(expert(e, "fc2.weight")).data, fresh.at(expert(e, "fc2.weight")).data, expert(e, "fc2.weight"));
      QVERIFY(contains(r.dropped, expert(e, "fc2.weight")));
      QVERIFY(contains(r.dropped, expert(e, "fc2.bias")));
    }
    EXPECT_SAME(now.at("moe.0.router.weight").data, old.at("moe.0.router.weight").data, std::string("router"));
    QVERIFY(contains(r.kept, "moe.0.router.weight"));
    EXPECT_SAME(now.at("head.bias").data, old.at("head.bias").data, std::string("head.bias"));
    EXPECT_SAME(now.at("head.weight").data, fresh.at("head.weight").data, std::string("head.weight"));
    QVERIFY(contains(r.dropped, "head.weight"));
    QCOMPARE(r.dropped.size(), size_t(8 * 2 + 1));
  }

  void routerWithNewInputWidthStartsFresh() {
    // A dense layer in front of the MoE layer changes the router's input width: no row fits.
    const Spec oldSpec = baseSpec();
    auto oldList = trainedWeights(oldSpec, 10);
    Spec newSpec = oldSpec;
    LayerSpec dense;
    dense.type = LayerType::Dense;
    dense.units = 16;
    newSpec.model.layers.insert(newSpec.model.layers.begin(), dense);
    Session target(newSpec, cpu());
    const auto fresh = byName(Session(newSpec, cpu()).exportWeights());
    WeightTransferReport r = transferWeights(oldList, target);
    QVERIFY(contains(r.fresh, "moe.0.router.weight"));
    QVERIFY(contains(r.dropped, "moe.0.router.weight"));
    EXPECT_SAME(byName(target.exportWeights()).at("moe.0.router.weight").data, fresh.at("moe.0.router.weight").data,
                std::string("router"));
  }

  void badMappingThrowsAndChangesNothing() {
    const Spec spec = baseSpec();
    auto oldList = trainedWeights(spec, 5);
    Session target(spec, cpu());
    const auto before = target.exportWeights();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, transferWeights(oldList, target, ExpertMapping{{{0, 1, 2}}}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             transferWeights(oldList, target, ExpertMapping{{{0, 1, 2, 3, 4, 5, 6, 8}}}));
    QCOMPARE(byName(target.exportWeights()).at("moe.0.router.weight").data, byName(before).at("moe.0.router.weight").data);
  }

  void stepCounterContinuesAndOptimizerRestarts() {
    // A rebuilt session continuing from step 30 takes exactly the step a fresh optimizer takes
    // (Adam's bias correction counts from the rebuild), but reports step 31.
    const Spec spec = baseSpec();
    auto weights = trainedWeights(spec, 30);
    Session continued(spec, cpu()), restarted(spec, cpu());
    transferWeights(weights, continued);
    transferWeights(weights, restarted);
    continued.continueStepsFrom(30);
    StepMetrics a = continued.step(), b = restarted.step();
    QCOMPARE(a.step, 31);
    QCOMPARE(b.step, 1);
    QCOMPARE(a.loss, b.loss);
    QCOMPARE(continued.exportWeights().front().data, restarted.exportWeights().front().data);

    // Snapshots carry the optimizer's start, so a rewound continued run repeats itself exactly.
    Snapshot snap = continued.snapshot();
    QCOMPARE(snap.optimizerBase, 30);
    std::vector<double> first, second;
    for (int i = 0; i < 5; ++i) first.push_back(continued.step().loss);
    continued.restore(snap);
    for (int i = 0; i < 5; ++i) second.push_back(continued.step().loss);
    QCOMPARE(second, first);
    QCOMPARE(continued.stepCount(), 36);
  }
};

QTEST_GUILESS_MAIN(TestWeightTransfer)
#include "test_weight_transfer.moc"
