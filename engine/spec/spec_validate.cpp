// validateSpec: every rule of docs/spec.md, each problem reported with its JSON path.
#include <cmath>

#include "spec/spec_json.h"
#include "spec/validation_problems.h"

namespace rl {

namespace {

using validation::num;
using validation::Problems;
using validation::kMaxLayers;
using validation::kMaxExperts;
using validation::kMaxWidth;

constexpr int kMaxBatch = 65536;
constexpr int kMinSamples = 10;
constexpr int kMaxSamples = 1'000'000;

void checkRouter(Problems& p, const std::string& at, const RouterSpec& r, int experts) {
  const bool expertsValid = experts >= 1 && experts <= kMaxExperts;
  switch (r.type) {
    case RouterType::Dense:
      break;  // every expert is used: k is ignored
    case RouterType::Switch:
      if (r.k != 1) p.add(at + ".k", "must be 1 for switch routing (got " + std::to_string(r.k) + ")");
      break;
    case RouterType::TopK:
    case RouterType::NoisyTopK:
      if (r.k < 1)
        p.add(at + ".k", "must be >= 1 (got " + std::to_string(r.k) + ")");
      else if (expertsValid && r.k > experts)
        p.add(at + ".k", std::to_string(r.k) + " exceeds experts (" + std::to_string(experts) + ")");
      break;
  }
  p.positive(at + ".temperature", r.temperature);
  p.nonNegative(at + ".capacity_factor", r.capacityFactor);
  p.unitInterval(at + ".jitter", r.jitter);
  p.nonNegative(at + ".aux_loss_coef", r.auxLossCoef);
  p.nonNegative(at + ".z_loss_coef", r.zLossCoef);
}

void checkModel(Problems& p, const ModelSpec& m, bool regressionData, const std::string& kind) {
  if (m.layers.empty()) p.add("model.layers", "needs at least one layer");
  if (m.layers.size() > size_t(kMaxLayers))
    p.add("model.layers", "at most " + std::to_string(kMaxLayers) + " layers (got " + std::to_string(m.layers.size()) + ")");
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const LayerSpec& L = m.layers[i];
    const std::string at = "model.layers[" + std::to_string(i) + "]";
    if (L.type == LayerType::Dense) {
      p.intRange(at + ".units", L.units, 1, kMaxWidth);
      continue;
    }
    p.intRange(at + ".experts", L.experts, 1, kMaxExperts);
    if (L.expertWidths.empty()) p.add(at + ".expert_widths", "needs at least one width");
    for (size_t w = 0; w < L.expertWidths.size(); ++w)
      p.intRange(at + ".expert_widths[" + std::to_string(w) + "]", L.expertWidths[w], 1, kMaxWidth);
    checkRouter(p, at + ".router", L.router, L.experts);
  }

  const bool perExpertLoss = m.loss == LossType::Competitive || m.loss == LossType::Cooperative;
  if (perExpertLoss) {
    const std::string loss = toName(m.loss);
    if (!m.layers.empty() && m.layers.back().type != LayerType::Moe)
      p.add("model.loss", loss + " needs the last layer to be a moe layer (model.layers[" +
                              std::to_string(m.layers.size() - 1) + "] is dense)");
    if (m.head) p.add("model.head", "must be false with the " + loss + " loss (the experts' outputs are the prediction)");
  }
  if (regressionData && m.loss == LossType::CrossEntropy)
    p.add("model.loss", "cross_entropy needs class labels, but the data (kind " + kind +
                            ") is a regression task: use mse, cooperative or competitive");
}

void checkData(Problems& p, const DataSpec& d, bool transformer) {
  bool known = false;
  for (const auto& k : dataKindNames()) known |= k == d.kind;
  if (isTokenDataKind(d.kind)) {
    if (!transformer) p.add("data.kind", d.kind + " is a token stream, read by transformer models (model.kind is mlp)");
  } else if (transformer) {
    p.add("data.kind", (known ? "transformer models read token streams, not " + d.kind : "unknown kind '" + d.kind + "'") +
                           " (one of: " + joinNames(tokenDataKindNames()) + ")");
  } else if (!known) {
    p.add("data.kind", "unknown kind '" + d.kind + "' (one of: " + joinNames(dataKindNames()) + ")");
  }
  p.intRange("data.samples", d.samples, kMinSamples, kMaxSamples);
  p.nonNegative("data.noise", d.noise);
  if (!(d.testFraction > 0 && d.testFraction <= 0.9))
    p.add("data.test_fraction", "must be in (0, 0.9] (got " + num(d.testFraction) + ")");
  if (d.kind == "csv") {
    if (d.csvPath.empty()) p.add("data.csv_path", "required for kind csv");
    if (d.labelColumn.empty()) p.add("data.label_column", "required for kind csv");
  } else {
    if (!d.csvPath.empty()) p.add("data.csv_path", "only used by kind csv (kind is " + d.kind + ")");
    if (!d.labelColumn.empty()) p.add("data.label_column", "only used by kind csv (kind is " + d.kind + ")");
    if (d.regression) p.add("data.regression", "only used by kind csv (regression_local is always regression)");
  }
}

void checkTrain(Problems& p, const TrainSpec& t) {
  p.positive("train.learning_rate", t.learningRate);
  p.unitInterval("train.momentum", t.momentum);
  p.unitInterval("train.beta1", t.beta1);
  p.unitInterval("train.beta2", t.beta2);
  p.positive("train.epsilon", t.epsilon);
  p.intRange("train.batch_size", t.batchSize, 1, kMaxBatch);
  if (t.steps < 1) p.add("train.steps", "must be >= 1 (got " + std::to_string(t.steps) + ")");
}

}  // namespace

std::vector<std::string> validateSpec(const Spec& spec) {
  Problems p;
  if (spec.format != kSpecFormat)
    p.add("format", "must be \"" + std::string(kSpecFormat) + "\" (got \"" + spec.format + "\")");
  const bool regression = spec.data.kind == "regression_local" || (spec.data.kind == "csv" && spec.data.regression);
  const bool transformer = spec.model.kind == ModelKind::Transformer;
  if (transformer) {
    validation::checkTransformerModel(p, spec);
  } else {
    checkModel(p, spec.model, regression, spec.data.kind);
    if (!(spec.model.transformer == TransformerSpec{}))
      p.add("model.transformer", "only used when model.kind is transformer (model.kind is " + toName(spec.model.kind) + ")");
  }
  checkData(p, spec.data, transformer);
  validation::checkTokenData(p, spec.data);
  checkTrain(p, spec.train);
  return p.take();
}

}  // namespace rl
