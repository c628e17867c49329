#include "train/session.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>

#include "ops/globals.h"
#include "spec/spec_json.h"

namespace rl {

namespace {

constexpr int kMaxEvalBatch = 2048;

// Uniform in [0,1) from the raw 64-bit output: identical on every standard library.
double uniform01(std::mt19937_64& g) { return static_cast<double>(g() >> 11) * (1.0 / 9007199254740992.0); }

ModelShape shapeOf(const Dataset& d) {
  ModelShape s;
  s.inputDim = d.inputDim;
  s.outputDim = d.outputDim;
  s.classify = !d.regression;
  return s;
}

int evalBatchFor(const DataSplit& d) {
  return std::clamp<int>(static_cast<int>(d.test.size()), 1, kMaxEvalBatch);
}

// "moe.0.experts.fc1.weight" + expert 3 -> "moe.0.experts.3.fc1.weight"
std::string expertName(const std::string& grouped, int expert) {
  const std::string key = ".experts.";
  auto pos = grouped.find(key);
  return grouped.substr(0, pos + key.size()) + std::to_string(expert) + "." + grouped.substr(pos + key.size());
}

}  // namespace

Session::Session(Spec spec, BackendSelection backend)
    : spec_(std::move(spec)), backend_(std::move(backend.backend)), backendReason_(std::move(backend.reason)) {
  auto problems = validateSpec(spec_);
  if (!problems.empty()) {
    std::string msg = "invalid spec:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw std::invalid_argument(msg);
  }
  batchRng_.seed(spec_.train.seed * 0x9E3779B97F4A7C15ull + 1);
  if (transformer()) {
    loadTokenData();
  } else {
    data_ = makeDataset(spec_.data);
    if (data_.train.size() == 0 || data_.test.size() == 0)
      throw std::invalid_argument("data: the train/test split left an empty side");
    model_ = buildModel(spec_, shapeOf(data_.train), evalBatchFor(data_));
  }
  backend_->load(model_.program);
  initialiseWeights();
}

Session::~Session() = default;

void Session::initialiseWeights() {
  // PyTorch's defaults: nn.Linear weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in));
  // nn.Embedding ~ N(0, 1); nn.LayerNorm gain 1, bias 0.
  std::mt19937_64 g(spec_.train.seed);
  for (const ParamInfo& p : model_.params) {
    const TensorInfo& t = model_.program.info(p.id);
    const double bound = 1.0 / std::sqrt(static_cast<double>(p.fanIn));
    std::vector<float> v(t.count);
    switch (p.init) {
      case ParamInit::Uniform:
        for (float& x : v) x = static_cast<float>((2.0 * uniform01(g) - 1.0) * bound);
        break;
      case ParamInit::Normal:  // Box-Muller from the raw stream: identical on every standard library
        for (float& x : v) {
          const double a = 1.0 - uniform01(g), b = uniform01(g);
          x = static_cast<float>(std::sqrt(-2.0 * std::log(a)) * std::cos(2.0 * M_PI * b));
        }
        break;
      case ParamInit::Ones: std::fill(v.begin(), v.end(), 1.f); break;
      case ParamInit::Zeros: break;
    }
    backend_->writeTensor(model_.program, p.id, v);
  }
}

void Session::writeGlobals(bool train) {
  Globals g;
  g.step = static_cast<uint32_t>(step_ - optimizerBase_);
  g.seed = static_cast<uint32_t>(spec_.train.seed);
  g.lr = static_cast<float>(spec_.train.learningRate);
  g.train = train ? 1u : 0u;
  backend_->write(model_.program.info(model_.globals).offset, &g, 4);
}

void Session::writeBatch(const PhaseTensors& pt, const Dataset& d, const std::vector<uint32_t>& rows) {
  const int in = d.inputDim, out = d.outputDim;
  std::vector<float> x(static_cast<size_t>(pt.batch) * in), t(static_cast<size_t>(pt.batch) * out);
  std::vector<int32_t> labels(pt.batch);
  for (int r = 0; r < pt.batch; ++r) {
    const uint32_t src = rows[r];
    std::copy_n(d.x.begin() + static_cast<long>(src) * in, in, x.begin() + static_cast<long>(r) * in);
    std::copy_n(d.target.begin() + static_cast<long>(src) * out, out, t.begin() + static_cast<long>(r) * out);
    labels[r] = d.label[src];
  }
  const Program& p = model_.program;
  backend_->writeTensor(p, pt.x, x);
  backend_->writeTensor(p, pt.target, t);
  backend_->writeTensor(p, pt.labels, labels);
}

float Session::readScalar(TensorId t, int index) const {
  float v = 0;
  backend_->read(model_.program.info(t).offset + index, &v, 1);
  return v;
}

MoeMetrics Session::readMoe(const MoeTensors& t) const {
  const Program& p = model_.program;
  MoeMetrics m;
  m.load = backend_->readTensor<float>(p, t.load);
  m.importance = backend_->readTensor<float>(p, t.importance);
  auto s = backend_->readTensor<float>(p, t.scalars);
  m.auxLoss = s[0];
  m.zLoss = s[1];
  m.routerEntropy = s[2];
  m.dropped = s[3];
  return m;
}

StepMetrics Session::step() {
  if (transformer()) return stepTokens();
  const PhaseTensors& pt = model_.train;
  const Dataset& d = data_.train;
  std::vector<uint32_t> rows(pt.batch);
  for (auto& r : rows) r = static_cast<uint32_t>(batchRng_() % d.size());
  writeBatch(pt, d, rows);
  ++step_;
  writeGlobals(true);
  backend_->run("train");

  StepMetrics m;
  m.step = step_;
  m.taskLoss = model_.train.competitiveOut ? readScalar(pt.competitiveOut, 0) : readScalar(pt.lossOut, 0);
  m.accuracy = d.regression ? std::numeric_limits<double>::quiet_NaN() : readScalar(pt.lossOut, 1) / pt.batch;
  m.gradNorm = readScalar(model_.gradNorm, 0);
  m.loss = m.taskLoss;
  for (size_t j = 0; j < pt.moe.size(); ++j) {
    m.moe.push_back(readMoe(pt.moe[j]));
    m.loss += m.moe.back().auxLoss + m.moe.back().zLoss;
  }
  m.finite = std::isfinite(m.loss) && std::isfinite(m.gradNorm);
  return m;
}

Probe Session::predict(const std::vector<float>& x, const std::vector<int32_t>& labels) {
  if (transformer()) throw std::invalid_argument("predict: a transformer reads token ids, not feature rows");
  const PhaseTensors& pt = model_.eval;
  const int in = model_.shape.inputDim, out = model_.shape.outputDim;
  const int rows = static_cast<int>(labels.size());
  Probe probe;
  probe.rows = rows;
  probe.x = x;
  probe.labels = labels;
  probe.prediction.resize(static_cast<size_t>(rows) * out);
  for (size_t j = 0; j < pt.moe.size(); ++j) {
    ProbeLayer L;
    L.experts = model_.moeLayers[j].experts;
    L.k = model_.moeLayers[j].k;
    probe.layers.push_back(L);
  }
  // Whole eval batches; the last one is padded with copies of its first row, and only the real
  // rows are read back.
  Dataset chunk;
  chunk.inputDim = in;
  chunk.outputDim = out;
  chunk.x = x;
  chunk.label = labels;
  chunk.target.assign(static_cast<size_t>(rows) * out, 0.f);
  writeGlobals(false);
  const Program& p = model_.program;
  for (int start = 0; start < rows; start += pt.batch) {
    const int n = std::min(pt.batch, rows - start);
    std::vector<uint32_t> idx(pt.batch);
    for (int r = 0; r < pt.batch; ++r) idx[r] = static_cast<uint32_t>(start + (r < n ? r : 0));
    writeBatch(pt, chunk, idx);
    backend_->run("eval");
    auto pred = backend_->readTensor<float>(p, pt.prediction);
    std::copy_n(pred.begin(), static_cast<size_t>(n) * out, probe.prediction.begin() + static_cast<long>(start) * out);
    for (size_t j = 0; j < pt.moe.size(); ++j) {
      ProbeLayer& L = probe.layers[j];
      auto append = [n](auto& dst, const auto& src, int width) {
        dst.insert(dst.end(), src.begin(), src.begin() + static_cast<long>(n) * width);
      };
      append(L.probs, backend_->readTensor<float>(p, pt.moe[j].probs), L.experts);
      append(L.idx, backend_->readTensor<int32_t>(p, pt.moe[j].idx), L.k);
      append(L.wt, backend_->readTensor<float>(p, pt.moe[j].wt), L.k);
      append(L.slot, backend_->readTensor<int32_t>(p, pt.moe[j].slot), L.k);
    }
  }
  return probe;
}

Probe Session::probe() {
  if (transformer()) {
    std::vector<uint32_t> rows(std::min<size_t>(model_.eval.batch, tokens_.test.size()));
    for (size_t r = 0; r < rows.size(); ++r) rows[r] = static_cast<uint32_t>(r);
    return probeSequences(rows);
  }
  const Dataset& t = data_.test;
  const int rows = std::min<int>(model_.eval.batch, static_cast<int>(t.size()));
  std::vector<float> x(t.x.begin(), t.x.begin() + static_cast<long>(rows) * t.inputDim);
  std::vector<int32_t> labels(t.label.begin(), t.label.begin() + rows);
  return predict(x, labels);
}

EvalMetrics Session::evaluate() {
  if (transformer()) return evaluateTokens();
  const Dataset& t = data_.test;
  Probe all = predict(t.x, t.label);
  EvalMetrics e;
  e.rows = all.rows;
  const int out = t.outputDim;
  double loss = 0;
  int correct = 0;
  for (int r = 0; r < all.rows; ++r) {
    const float* y = &all.prediction[static_cast<size_t>(r) * out];
    if (t.regression || spec_.model.loss != LossType::CrossEntropy) {
      const float* tgt = &t.target[static_cast<size_t>(r) * out];
      for (int c = 0; c < out; ++c) loss += double(y[c] - tgt[c]) * (y[c] - tgt[c]);
    } else {
      const float mx = *std::max_element(y, y + out);
      double z = 0;
      for (int c = 0; c < out; ++c) z += std::exp(double(y[c]) - mx);
      loss += std::log(z) + mx - y[t.label[r]];
    }
    if (!t.regression && std::max_element(y, y + out) - y == t.label[r]) ++correct;
  }
  e.loss = loss / std::max(1, all.rows);
  e.accuracy = t.regression ? std::numeric_limits<double>::quiet_NaN() : double(correct) / std::max(1, all.rows);
  const int classes = t.regression ? std::max(1, t.classes) : t.outputDim;
  for (size_t j = 0; j < all.layers.size(); ++j) {
    const ProbeLayer& L = all.layers[j];
    std::vector<std::vector<double>> counts(classes, std::vector<double>(L.experts, 0.0));
    for (int r = 0; r < all.rows; ++r) {
      const int c = std::clamp(t.label[r], 0, classes - 1);
      // A row chooses expert e with its share of the gate weight (Jacobs et al.: the gate is the
      // probability of selecting an expert); hard top-k routing gives the selected experts' shares.
      const size_t base = static_cast<size_t>(r) * L.k;
      double total = 0;
      for (int j = 0; j < L.k; ++j) total += L.wt[base + j];
      for (int j = 0; j < L.k; ++j)
        if (total > 0) counts[c][L.idx[base + j]] += L.wt[base + j] / total;
    }
    e.classExpertCounts.push_back(std::move(counts));
  }
  // Load statistics of the last evaluated batch (the eval phase's own tensors).
  for (size_t j = 0; j < model_.eval.moe.size(); ++j)
    e.moe.push_back(readMoe(model_.eval.moe[j]));
  return e;
}

Snapshot Session::snapshot() const {
  Snapshot s;
  s.step = step_;
  const Program& p = model_.program;
  s.params.resize(p.paramWords);
  backend_->read(p.paramBegin, s.params.data(), p.paramWords);
  s.optState.resize(model_.optStateWords);
  backend_->read(model_.optStateBegin, s.optState.data(), model_.optStateWords);
  std::ostringstream os;
  os << batchRng_;
  s.batchRng = transformer() ? tokenSampler_.state() : os.str();
  s.optimizerBase = optimizerBase_;
  return s;
}

void Session::restore(const Snapshot& s) {
  const Program& p = model_.program;
  if (s.params.size() != p.paramWords || s.optState.size() != model_.optStateWords)
    throw std::invalid_argument("snapshot does not match this model's parameter layout");
  if (transformer()) {
    tokenSampler_.restore(s.batchRng);  // first: it rejects a foreign state before anything changes
  } else {
    std::istringstream is(s.batchRng);
    is >> batchRng_;
  }
  backend_->write(p.paramBegin, s.params.data(), p.paramWords);
  backend_->write(model_.optStateBegin, s.optState.data(), model_.optStateWords);
  step_ = s.step;
  optimizerBase_ = s.optimizerBase;
}

void Session::continueStepsFrom(int step) {
  if (step < 0) throw std::invalid_argument("continueStepsFrom: negative step");
  step_ = step;
  optimizerBase_ = step;
}

std::vector<NamedTensor> Session::exportWeights() const {
  std::vector<NamedTensor> out;
  const Program& p = model_.program;
  for (const ParamInfo& info : model_.params) {
    const TensorInfo& t = p.info(info.id);
    auto v = backend_->readTensor<float>(p, info.id);
    if (info.groups == 0) {
      out.push_back({info.name, std::vector<int64_t>(t.shape.begin(), t.shape.end()), std::move(v)});
      continue;
    }
    const size_t per = t.count / info.groups;
    for (int e = 0; e < info.groups; ++e)
      out.push_back({expertName(info.name, e), std::vector<int64_t>(t.shape.begin() + 1, t.shape.end()),
                     std::vector<float>(v.begin() + static_cast<long>(e * per), v.begin() + static_cast<long>((e + 1) * per))});
  }
  return out;
}

void Session::importWeights(const std::vector<NamedTensor>& tensors) {
  std::map<std::string, const NamedTensor*> byName;
  for (const auto& t : tensors) byName[t.name] = &t;
  auto take = [&](const std::string& name, const std::vector<int64_t>& shape) -> const NamedTensor& {
    auto it = byName.find(name);
    if (it == byName.end()) throw std::runtime_error("weights: tensor '" + name + "' is missing");
    if (it->second->shape != shape) {
      std::ostringstream os;
      os << "weights: tensor '" << name << "' has shape [";
      for (size_t i = 0; i < it->second->shape.size(); ++i) os << (i ? "," : "") << it->second->shape[i];
      os << "], the model needs [";
      for (size_t i = 0; i < shape.size(); ++i) os << (i ? "," : "") << shape[i];
      os << "]";
      throw std::runtime_error(os.str());
    }
    const NamedTensor& t = *it->second;
    byName.erase(it);
    return t;
  };
  const Program& p = model_.program;
  std::vector<std::pair<TensorId, std::vector<float>>> staged;
  for (const ParamInfo& info : model_.params) {
    const TensorInfo& t = p.info(info.id);
    if (info.groups == 0) {
      staged.push_back({info.id, take(info.name, std::vector<int64_t>(t.shape.begin(), t.shape.end())).data});
      continue;
    }
    std::vector<float> all;
    for (int e = 0; e < info.groups; ++e) {
      const auto& part = take(expertName(info.name, e), std::vector<int64_t>(t.shape.begin() + 1, t.shape.end())).data;
      all.insert(all.end(), part.begin(), part.end());
    }
    staged.push_back({info.id, std::move(all)});
  }
  if (!byName.empty()) throw std::runtime_error("weights: unexpected tensor '" + byName.begin()->first + "'");
  for (auto& [id, v] : staged) backend_->writeTensor(p, id, v);  // only after every check passed
}

}  // namespace rl
