// The Session's Transformer half: token streams in, the same StepMetrics / EvalMetrics / Probe
// out. Legend: B sequences per batch, T positions, N = B T token rows, V vocabulary.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "train/session.h"

namespace rl {

namespace {

// Transformer eval batches (sequences): every token is a row of every activation and the attention
// probabilities are [B, H, T, T], so the eval phase stays near the training batch size.
constexpr int kMaxTokenEvalBatch = 64;

TokenDataOptions tokenOptions(const Spec& spec) {
  const DataSpec& d = spec.data;
  TokenDataOptions o;
  o.kind = d.kind == "multi_task" ? TokenStreamKind::MultiTask : TokenStreamKind::MultiLanguage;
  o.objective = spec.model.transformer.task;
  o.sequences = d.samples;
  o.vocabulary = d.vocabulary;
  o.length = d.sequenceLength;
  o.groups = d.kind == "multi_task" ? d.tasks : d.languages;
  o.noise = d.noise;
  o.testFraction = d.testFraction;
  o.seed = d.seed;
  return o;
}

// The label a token is coloured and counted by: its task (multi_task) or language (multi_language).
const std::vector<int32_t>& tokenGroupLabels(const TokenDataset& d) {
  return d.kind == TokenStreamKind::MultiTask ? d.taskLabel : d.languageLabel;
}

bool nextTokenTask(const Spec& spec) { return spec.model.transformer.task == SequenceTask::NextToken; }

// Cross-entropy of one row of logits against a label (natural log).
double crossEntropy(const float* z, int classes, int label) {
  const float mx = *std::max_element(z, z + classes);
  double sum = 0;
  for (int c = 0; c < classes; ++c) sum += std::exp(double(z[c]) - mx);
  return std::log(sum) + mx - z[label];
}

}  // namespace

void Session::loadTokenData() {
  tokens_ = makeTokenDataset(tokenOptions(spec_));
  if (tokens_.train.size() == 0 || tokens_.test.size() == 0)
    throw std::invalid_argument("data: the train/test split left an empty side");
  ModelShape shape;
  shape.inputDim = tokens_.train.length;
  shape.outputDim = nextTokenTask(spec_) ? tokens_.train.vocabulary : tokens_.train.classes;
  shape.classify = true;
  const int evalBatch = std::clamp(static_cast<int>(tokens_.test.size()), 1,
                                   std::clamp(spec_.train.batchSize, 1, kMaxTokenEvalBatch));
  model_ = buildModel(spec_, shape, evalBatch);
  // Its own generator, seeded like the vector datasets' batch generator.
  tokenSampler_ = TokenBatchSampler(spec_.train.seed * 0x9E3779B97F4A7C15ull + 1);
}

void Session::writeTokenBatch(const PhaseTensors& pt, const TokenBatch& b) {
  const Program& p = model_.program;
  backend_->writeTensor(p, pt.ids, b.ids);
  backend_->writeTensor(p, pt.group, b.group);
  backend_->writeTensor(p, pt.labels, nextTokenTask(spec_) ? b.nextToken : b.sequenceClass);
}

StepMetrics Session::stepTokens() {
  const PhaseTensors& pt = model_.train;
  const TokenBatch b = gatherTokenBatch(tokens_.train, tokenSampler_.next(pt.batch, tokens_.train.size()));
  writeTokenBatch(pt, b);
  ++step_;
  writeGlobals(true);
  backend_->run("train");

  // The loss op averages over every label row (N for next_token, unscored ones included); the
  // figures reported are over the scored targets only.
  const std::vector<int32_t>& labels = nextTokenTask(spec_) ? b.nextToken : b.sequenceClass;
  const double scored = std::max<double>(1, std::count_if(labels.begin(), labels.end(), [](int32_t v) { return v >= 0; }));
  StepMetrics m;
  m.step = step_;
  m.taskLoss = readScalar(pt.lossOut, 0) * static_cast<double>(labels.size()) / scored;
  m.accuracy = readScalar(pt.lossOut, 1) / scored;
  m.gradNorm = readScalar(model_.gradNorm, 0);
  m.loss = m.taskLoss;
  for (const MoeTensors& t : pt.moe) {
    m.moe.push_back(readMoe(t));
    m.loss += m.moe.back().auxLoss + m.moe.back().zLoss;
  }
  m.finite = std::isfinite(m.loss) && std::isfinite(m.gradNorm);
  return m;
}

Probe Session::probeSequences(const std::vector<uint32_t>& rows) {
  const TokenDataset& d = tokens_.test;
  const size_t T = static_cast<size_t>(d.length);
  const std::vector<int32_t>& groupLabels = tokenGroupLabels(d);
  std::vector<int32_t> ids, group, labels;
  for (uint32_t r : rows) {
    if (r >= d.size()) throw std::out_of_range("probe: held-out sequence " + std::to_string(r) + " of " + std::to_string(d.size()));
    ids.insert(ids.end(), d.ids.begin() + r * T, d.ids.begin() + (r + 1) * T);
    labels.insert(labels.end(), groupLabels.begin() + r * T, groupLabels.begin() + (r + 1) * T);
    group.push_back(d.group[r]);
  }
  Probe probe = predictSequences(ids, group);
  probe.labels = std::move(labels);
  return probe;
}

Probe Session::predictSequences(const std::vector<int32_t>& ids, const std::vector<int32_t>& group) {
  if (!transformer()) throw std::invalid_argument("predictSequences: the model is not a transformer");
  const PhaseTensors& pt = model_.eval;
  const int T = model_.shape.inputDim, V = spec_.model.transformer.vocabulary, out = model_.shape.outputDim;
  const int S = static_cast<int>(group.size());
  if (ids.size() != static_cast<size_t>(S) * T)
    throw std::invalid_argument("predictSequences: " + std::to_string(ids.size()) + " ids for " + std::to_string(S) +
                                " sequences of " + std::to_string(T));
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= V)
      throw std::invalid_argument("predictSequences: sequence " + std::to_string(i / T) + ", position " +
                                  std::to_string(i % T) + ": token id " + std::to_string(ids[i]) +
                                  " is outside the vocabulary [0, " + std::to_string(V) + ")");
  const bool perToken = nextTokenTask(spec_);
  Probe probe;
  probe.sequences = S;
  probe.length = T;
  probe.rows = S * T;
  probe.ids = ids;
  for (size_t j = 0; j < pt.moe.size(); ++j) {
    ProbeLayer L;
    L.experts = model_.moeLayers[j].experts;
    L.k = model_.moeLayers[j].k;
    probe.layers.push_back(L);
  }
  writeGlobals(false);
  const Program& p = model_.program;
  // Whole eval batches; the last one is padded with copies of its first sequence, and only the
  // real sequences are read back.
  for (int start = 0; start < S; start += pt.batch) {
    const int n = std::min(pt.batch, S - start);
    TokenBatch b;
    b.rows = pt.batch;
    b.length = T;
    for (int i = 0; i < pt.batch; ++i) {
      const int src = start + (i < n ? i : 0);
      b.ids.insert(b.ids.end(), ids.begin() + static_cast<long>(src) * T, ids.begin() + static_cast<long>(src + 1) * T);
      b.group.push_back(group[src]);
    }
    b.nextToken.assign(b.ids.size(), -1);  // no targets: the loss op scores nothing
    b.sequenceClass.assign(pt.batch, -1);
    writeTokenBatch(pt, b);
    backend_->run("eval");
    const int predRows = perToken ? n * T : n;
    auto pred = backend_->readTensor<float>(p, pt.prediction);
    probe.prediction.insert(probe.prediction.end(), pred.begin(), pred.begin() + static_cast<long>(predRows) * out);
    for (size_t j = 0; j < pt.moe.size(); ++j) {
      ProbeLayer& L = probe.layers[j];
      auto append = [n, T](auto& dst, const auto& src, int width) {
        dst.insert(dst.end(), src.begin(), src.begin() + static_cast<long>(n) * T * width);
      };
      append(L.probs, backend_->readTensor<float>(p, pt.moe[j].probs), L.experts);
      append(L.idx, backend_->readTensor<int32_t>(p, pt.moe[j].idx), L.k);
      append(L.wt, backend_->readTensor<float>(p, pt.moe[j].wt), L.k);
      append(L.slot, backend_->readTensor<int32_t>(p, pt.moe[j].slot), L.k);
    }
  }
  return probe;
}

EvalMetrics Session::evaluateTokens() {
  const TokenDataset& d = tokens_.test;
  std::vector<uint32_t> rows(d.size());
  for (size_t r = 0; r < rows.size(); ++r) rows[r] = static_cast<uint32_t>(r);
  const Probe all = probeSequences(rows);
  const int out = model_.shape.outputDim;
  const bool perToken = nextTokenTask(spec_);
  EvalMetrics e;
  double loss = 0;
  int correct = 0, scored = 0;
  const size_t predRows = perToken ? d.ids.size() : d.size();
  for (size_t r = 0; r < predRows; ++r) {
    const int label = perToken ? d.nextToken[r] : d.sequenceClass[r];
    if (label < 0 || label >= out) continue;
    const float* z = &all.prediction[r * out];
    loss += crossEntropy(z, out, label);
    correct += std::max_element(z, z + out) - z == label;
    ++scored;
  }
  e.rows = scored;
  e.loss = loss / std::max(1, scored);
  e.accuracy = double(correct) / std::max(1, scored);
  const int groups = std::max(1, spec_.data.kind == "multi_task" ? spec_.data.tasks : spec_.data.languages);
  for (const ProbeLayer& L : all.layers) {
    std::vector<std::vector<double>> counts(groups, std::vector<double>(L.experts, 0.0));
    for (int r = 0; r < all.rows; ++r) {
      const int g = std::clamp(all.labels[r], 0, groups - 1);
      // As for the MLP: a token chooses expert e with its share of the gate weight.
      const size_t base = static_cast<size_t>(r) * L.k;
      double total = 0;
      for (int j = 0; j < L.k; ++j) total += L.wt[base + j];
      for (int j = 0; j < L.k; ++j)
        if (total > 0) counts[g][L.idx[base + j]] += L.wt[base + j] / total;
    }
    e.classExpertCounts.push_back(std::move(counts));
  }
  for (const MoeTensors& t : model_.eval.moe) e.moe.push_back(readMoe(t));
  return e;
}

}  // namespace rl
