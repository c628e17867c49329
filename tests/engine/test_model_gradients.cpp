// Whole-model gradient check: the builder's static tape (dense -> MoE -> MoE -> head, with fan-out
// into the routers, top-k and dense gates, aux and z losses) against central finite differences
// of the total loss on the CPU backend. The same for the Transformer builder (embeddings, layer
// norms, attention, MoE feed-forward with capacity drops, residual stream, pooled or per-token head).
#include "test_support.h"

#include "graph/builder.h"
#include "ops/globals.h"
#include "spec/spec_names.h"

using namespace rl;

namespace {

Spec deepSpec(LossType loss) {
  Spec s;
  LayerSpec dense;
  dense.type = LayerType::Dense;
  dense.units = 6;
  dense.activation = Activation::Tanh;
  LayerSpec topk;
  topk.type = LayerType::Moe;
  topk.experts = 3;
  topk.expertWidths = {5};
  topk.activation = Activation::Tanh;
  topk.router.type = RouterType::TopK;
  topk.router.k = 2;
  topk.router.auxLossCoef = 0.1;
  topk.router.zLossCoef = 0.01;
  topk.router.temperature = 1.5;
  LayerSpec soft = topk;
  soft.experts = 2;
  soft.expertWidths = {4, 4};
  soft.activation = Activation::Gelu;
  soft.router.type = RouterType::Dense;
  soft.router.k = 2;
  s.model.layers = {dense, topk, soft};
  s.model.loss = loss;
  s.model.head = loss != LossType::Competitive;
  s.train.batchSize = 8;
  s.train.learningRate = 0.0;  // the optimizer runs but leaves parameters unchanged
  return s;
}

// A two-layer Transformer small enough for finite differences over every parameter: layer 0
// token_choice top-2 (top-1 for next_token) with a capacity that drops tokens, layer 1 dense routing.
Spec transformerSpec(SequenceTask task) {
  Spec s;
  s.model.kind = ModelKind::Transformer;
  TransformerSpec& t = s.model.transformer;
  t.vocabulary = 7;
  t.sequenceLength = 4;
  t.dModel = 8;
  t.heads = 2;
  t.task = task;
  t.causal = task == SequenceTask::NextToken;
  TransformerLayerSpec choice;
  choice.experts = 3;
  choice.expertWidth = 5;
  choice.router.type = TokenRouterType::TokenChoice;
  choice.router.k = 2;
  choice.router.capacityFactor = 1.0;  // C = ceil(12 * 2 / 3) = 8 of 12 tokens' choices: some drop
  choice.router.auxLossCoef = 0.1;
  choice.router.zLossCoef = 0.01;
  choice.router.temperature = 1.5;
  // next_token: top-2 with a capacity limit is not causal (the builder refuses it): top-1 there,
  // C = ceil(12 * 1 / 3) = 4 of 12 tokens, so tokens still drop.
  if (task == SequenceTask::NextToken) choice.router.k = 1;
  TransformerLayerSpec dense = choice;
  dense.experts = 2;
  dense.router.type = TokenRouterType::Dense;
  t.layers = {choice, dense};
  s.model.layers.clear();
  s.train.batchSize = 3;
  s.train.learningRate = 0.0;
  return s;
}

double totalLoss(CpuBackend& b, const BuiltModel& m) {
  b.run("train");
  const Program& p = m.program;
  TensorId lossT = m.train.competitiveOut ? m.train.competitiveOut : m.train.lossOut;
  double loss = b.readTensor<float>(p, lossT)[0];
  for (const auto& moe : m.train.moe) {
    auto s = b.readTensor<float>(p, moe.scalars);
    loss += s[0] + s[1];  // aux + z
  }
  return loss;
}

// Central finite differences of the total loss against the tape, over every parameter element of
// a Transformer built from `spec` (B 3, T 4, V 7); steps that change any layer's routing tables are
// skipped (the loss is piecewise there). layer0Drops: layer 0's capacity must drop something.
void checkTransformerTape(const Spec& spec, bool layer0Drops) {
  const bool perToken = spec.model.transformer.task == SequenceTask::NextToken;
  const int B = 3, T = 4, V = 7, classes = 4;
  BuiltModel m = buildModel(spec, ModelShape{T, perToken ? V : classes, true}, B);
  CpuBackend b;
  b.load(m.program);
  const Program& p = m.program;
  uint32_t seed = 21;
  for (const ParamInfo& info : m.params) {
    std::vector<float> v = rltest::randomVector(p.info(info.id).count, seed++, -0.8f, 0.8f);
    if (info.init == ParamInit::Ones)
      for (float& x : v) x += 1.f;  // layer-norm gains around 1
    b.writeTensor(p, info.id, v);
  }
  b.writeTensor(p, m.train.ids, std::vector<int32_t>{1, 4, 6, 0, 2, 2, 5, 3, 6, 1, 0, 4});
  b.writeTensor(p, m.train.group, std::vector<int32_t>{0, 1, 0});
  if (perToken)  // -1: not scored
    b.writeTensor(p, m.train.labels, std::vector<int32_t>{4, 6, 0, -1, 2, 5, 3, -1, -1, 0, 4, 2});
  else
    b.writeTensor(p, m.train.labels, std::vector<int32_t>{3, 0, 2});
  Globals g;
  g.step = 1;
  g.seed = 5;
  g.lr = 0.f;
  g.train = 1;
  b.write(p.info(m.globals).offset, &g, 4);

  totalLoss(b, m);
  std::vector<float> grads(p.paramWords);
  b.read(p.gradBegin, grads.data(), p.paramWords);
  auto routing = [&] {  // every layer's choices and capacity slots: piecewise constant
    std::vector<int32_t> r;
    for (const MoeTensors& t : m.train.moe) {
      for (TensorId id : {t.idx, t.slot}) {
        auto v = b.readTensor<int32_t>(p, id);
        r.insert(r.end(), v.begin(), v.end());
      }
    }
    return r;
  };
  const std::vector<int32_t> before = routing();
  if (layer0Drops) {
    int dropped = 0;
    for (int32_t s : b.readTensor<int32_t>(p, m.train.moe[0].slot)) dropped += s < 0;
    QVERIFY2(dropped > 0, "the capacity limit should drop some choices in layer 0");
  }

  const float h = 1e-3f;
  int checked = 0, skipped = 0;
  for (const ParamInfo& info : m.params) {
    const TensorInfo& t = p.info(info.id);
    auto values = b.readTensor<float>(p, info.id);
    for (size_t i = 0; i < values.size(); ++i) {
      auto probe = [&](float delta) {
        auto v = values;
        v[i] += delta;
        b.writeTensor(p, info.id, v);
        const double loss = totalLoss(b, m);
        return std::make_pair(loss, routing() == before);
      };
      const auto [up, sameUp] = probe(h);
      const auto [down, sameDown] = probe(-h);
      b.writeTensor(p, info.id, values);
      if (!sameUp || !sameDown) {
        ++skipped;
        continue;
      }
      const double fd = (up - down) / (2.0 * h);
      const double an = grads[t.offset - p.paramBegin + i];
      if (std::abs(fd - an) > 2e-3 + 2e-2 * std::abs(fd)) {
        QFAIL(qPrintable(QString("%1[%2]: tape %3, finite difference %4 (h %5)")
                             .arg(QString::fromStdString(info.name)).arg(i).arg(an).arg(fd).arg(h)));
      }
      ++checked;
    }
  }
  qInfo("checked %d parameter elements, skipped %d whose step changed the routing", checked, skipped);
  QVERIFY(checked > 500);
  QVERIFY(skipped * 10 < checked);
}

}  // namespace

class TestModelGradients : public QObject {
  Q_OBJECT
 private slots:
  void tapeMatchesFiniteDifferences_data() {
    QTest::addColumn<int>("loss");
    QTest::newRow("cross_entropy") << int(LossType::CrossEntropy);
    QTest::newRow("mse") << int(LossType::Mse);
    QTest::newRow("competitive") << int(LossType::Competitive);
  }
  void tapeMatchesFiniteDifferences() {
    QFETCH(int, loss);
    const Spec spec = deepSpec(LossType(loss));
    const ModelShape shape{2, 4, true};
    BuiltModel m = buildModel(spec, shape, 8);
    CpuBackend b;
    b.load(m.program);
    const Program& p = m.program;
    uint32_t seed = 11;
    for (const ParamInfo& info : m.params)
      b.writeTensor(p, info.id, rltest::randomVector(p.info(info.id).count, seed++, -0.8f, 0.8f));
    b.writeTensor(p, m.train.x, rltest::randomVector(16, 99, -1.f, 1.f));
    std::vector<int32_t> labels{0, 1, 2, 3, 1, 2, 0, 3};
    b.writeTensor(p, m.train.labels, labels);
    std::vector<float> target(32, 0.f);
    for (int r = 0; r < 8; ++r) target[r * 4 + labels[r]] = 1.f;
    b.writeTensor(p, m.train.target, target);
    Globals g;
    g.step = 1;
    g.seed = 5;
    g.lr = 0.f;
    g.train = 1;
    b.write(p.info(m.globals).offset, &g, 4);

    // Twice: a step's gradients must not depend on what the previous step left in the gradient
    // range (no zeroing dispatch: each parameter gradient's first writer overwrites it).
    totalLoss(b, m);
    totalLoss(b, m);
    std::vector<float> grads(p.paramWords);
    b.read(p.gradBegin, grads.data(), p.paramWords);

    const float h = 1e-3f;
    int checked = 0, skipped = 0;
    for (const ParamInfo& info : m.params) {
      const TensorInfo& t = p.info(info.id);
      auto values = b.readTensor<float>(p, info.id);
      for (size_t i = 0; i < values.size(); ++i) {
        auto probe = [&](float delta) {
          auto v = values;
          v[i] += delta;
          b.writeTensor(p, info.id, v);
          return totalLoss(b, m);
        };
        // The top-k choice is piecewise constant: skip elements whose step changes the routing.
        auto idxBefore = b.readTensor<int32_t>(p, m.train.moe[0].idx);
        const double up = probe(h);
        auto idxUp = b.readTensor<int32_t>(p, m.train.moe[0].idx);
        const double down = probe(-h);
        auto idxDown = b.readTensor<int32_t>(p, m.train.moe[0].idx);
        b.writeTensor(p, info.id, values);
        if (idxUp != idxBefore || idxDown != idxBefore) {
          ++skipped;
          continue;
        }
        const double fd = (up - down) / (2.0 * h);
        const double an = grads[t.offset - p.paramBegin + i];
        if (std::abs(fd - an) > 2e-3 + 2e-2 * std::abs(fd)) {
          QFAIL(qPrintable(QString("%1[%2]: tape %3, finite difference %4 (h %5)")
                               .arg(QString::fromStdString(info.name)).arg(i).arg(an).arg(fd).arg(h)));
        }
        ++checked;
      }
    }
    qInfo("checked %d parameter elements, skipped %d whose step changed the routing", checked, skipped);
    QVERIFY(checked > 100);
    QVERIFY(skipped * 10 < checked);
  }

  // width 8 (d_model 8): every expert linear has I and O multiples of 4, so the builder runs the
  // fused LinearBackward and fc2's backward hands fc1 its pre-GELU gradient (the dX epilogue,
  // InputGradActivation) instead of an ActivationBackward op; width 5 runs the unfused ops.
  void transformerTapeMatchesFiniteDifferences_data() {
    QTest::addColumn<int>("task");
    QTest::addColumn<int>("width");
    QTest::newRow("classification") << int(SequenceTask::Classification) << 5;
    QTest::newRow("next_token") << int(SequenceTask::NextToken) << 5;
    QTest::newRow("classification, vec4 experts") << int(SequenceTask::Classification) << 8;
  }
  void transformerTapeMatchesFiniteDifferences() {
    QFETCH(int, task);
    QFETCH(int, width);
    Spec spec = transformerSpec(SequenceTask(task));
    for (TransformerLayerSpec& l : spec.model.transformer.layers) l.expertWidth = width;
    QCOMPARE(spec.model.transformer.activation, Activation::Gelu);
    // Which backward the tape holds: the epilogue leaves no activation_bwd op (width 8), width 5 has
    // one per expert layer.
    const BuiltModel m = buildModel(spec, ModelShape{4, task == int(SequenceTask::NextToken) ? 7 : 4, true}, 3);
    int activationOps = 0;
    for (const auto& op : m.program.phases.at("train")) activationOps += op->name().rfind("activation_bwd", 0) == 0;
    QCOMPARE(activationOps, width == 8 ? 0 : 2);
    checkTransformerTape(spec, true);
  }

  // Layer 0 uses each of the other token routers (layer 1 stays dense): hash (ids), task (group
  // ids; tokens of task 0 overflow expert 0's capacity), expert choice (some tokens taken by no
  // expert, others by several) and Soft MoE (2 slots per expert), the learned two with jitter.
  // Hash, task and expert choice are piecewise constant in their choices: steps that change them
  // are skipped, as above.
  void transformerRoutersMatchFiniteDifferences_data() {
    QTest::addColumn<int>("type");
    for (TokenRouterType t : {TokenRouterType::Hash, TokenRouterType::Task, TokenRouterType::ExpertChoice,
                              TokenRouterType::SoftMoe})
      QTest::newRow(toName(t).c_str()) << int(t);
  }
  void transformerRoutersMatchFiniteDifferences() {
    QFETCH(int, type);
    Spec spec = transformerSpec(SequenceTask::Classification);
    TokenRouterSpec& r = spec.model.transformer.layers[0].router;
    r.type = TokenRouterType(type);
    const bool fixed = r.type == TokenRouterType::Hash || r.type == TokenRouterType::Task;
    r.auxLossCoef = r.zLossCoef = 0;  // none of these routers has an aux or z-loss
    r.capacityFactor = 1.0;           // hash / task: C = 4 of 12 tokens; expert choice: 4 tokens per expert
    r.slotsPerExpert = 2;
    if (fixed) r.temperature = 1.0;
    if (!fixed) r.jitter = 0.2;  // the learned routers' jittered input (the noise is fixed by step and seed)
    checkTransformerTape(spec, r.type != TokenRouterType::SoftMoe);
  }
};

QTEST_APPLESS_MAIN(TestModelGradients)
#include "test_model_gradients.moc"
