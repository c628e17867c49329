// Session::hiddenStates: the rows a MoE layer receives (or produces) for the first held-out rows,
// read back from the eval phase's own activations after each eval batch, with the routing of
// every layer. The eval batch holds at most model_.eval.batch rows, so larger probe sets run
// several batches (predict() does one batch per call here). Transformer: the rows are the tokens of
// whole held-out sequences, one predictSequences() call per eval batch, labelled from the token data.
//
// Legend: R probe rows, B eval batch rows, D representation width; Transformer: S sequences, T
// tokens per sequence, R = S T.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "graph/program.h"
#include "ops/op.h"
#include "train/hidden_states.h"
#include "train/session.h"

namespace rl {

namespace {

// The arena range holding the representation: the MoE layer's input as the builder recorded it
// (the data rows, a dense layer's output or the previous MoE layer's output), or its combined
// output moe.<j>.y.
Binding representationRange(const BuiltModel& model, int layer, HiddenSide side) {
  const Program& program = model.program;
  if (side == HiddenSide::Stream)
    throw std::invalid_argument("hiddenStates: only a Transformer has a residual stream; this model's MoE layers "
                                "offer their input and output");
  if (side == HiddenSide::Output) return bind(program, program.id("eval.moe." + std::to_string(layer) + ".y"));
  return bind(program, model.eval.moe.at(size_t(layer)).input);
}

// Transformer: the block's LN2 output (what the router and experts read), the MoE block's
// combined output layers.<l>.moe.y before the residual add, or the residual stream after it.
Binding tokenRepresentationRange(const BuiltModel& model, int layer, HiddenSide side) {
  const Program& program = model.program;
  const std::string block = "eval.layers." + std::to_string(model.moeLayers.at(size_t(layer)).layer);
  switch (side) {
    case HiddenSide::Input: break;
    case HiddenSide::Output: return bind(program, program.id(block + ".moe.y"));
    case HiddenSide::Stream: return bind(program, program.id(block + ".moe_residual"));
  }
  return bind(program, model.eval.moe.at(size_t(layer)).input);
}

// One [R] label per token, copied from a [B, T] per-token label of the first S sequences (-1 where
// the data has none).
RowLabels tokenLabels(std::string name, bool ordinal, const std::vector<int32_t>& perToken, size_t tokens,
                      std::vector<std::string> names) {
  RowLabels l;
  l.name = std::move(name);
  l.ordinal = ordinal;
  l.labels.assign(tokens, -1);
  std::copy_n(perToken.begin(), std::min(tokens, perToken.size()), l.labels.begin());
  l.names = std::move(names);
  return l;
}

void appendRouting(std::vector<ProbeLayer>& all, std::vector<ProbeLayer>&& part) {
  if (all.empty()) {
    all = std::move(part);
    return;
  }
  for (size_t j = 0; j < all.size(); ++j) {
    ProbeLayer& a = all[j];
    const ProbeLayer& L = part[j];
    a.probs.insert(a.probs.end(), L.probs.begin(), L.probs.end());
    a.idx.insert(a.idx.end(), L.idx.begin(), L.idx.end());
    a.wt.insert(a.wt.end(), L.wt.begin(), L.wt.end());
    a.slot.insert(a.slot.end(), L.slot.begin(), L.slot.end());
  }
}

}  // namespace

HiddenStates Session::hiddenStates(int moeLayer, int maxRows, HiddenSide side) {
  const int layers = static_cast<int>(model_.moeLayers.size());
  if (moeLayer < 0 || moeLayer >= layers)
    throw std::invalid_argument("hiddenStates: MoE layer " + std::to_string(moeLayer) + " does not exist (the model has " +
                                std::to_string(layers) + ")");
  if (maxRows <= 0) throw std::invalid_argument("hiddenStates: maxRows must be positive");
  if (transformer()) return tokenHiddenStates(moeLayer, maxRows, side);

  const Dataset& test = data_.test;
  const int rows = std::min<int>(maxRows, static_cast<int>(test.size()));
  const int batch = model_.eval.batch;
  const Binding range = representationRange(model_, moeLayer, side);
  if (range.words % static_cast<uint64_t>(batch) != 0)
    throw std::logic_error("hiddenStates: the representation tensor is not [batch, width]");
  const int dim = static_cast<int>(range.words / static_cast<uint64_t>(batch));

  HiddenStates h;
  h.step = step_;
  h.layer = moeLayer;
  h.side = side;
  h.rows = rows;
  h.dim = dim;
  h.x.resize(static_cast<size_t>(rows) * dim);
  h.testRows.resize(rows);
  h.labels.assign(test.label.begin(), test.label.begin() + rows);
  h.classes = test.classes;
  h.regression = test.regression;
  for (int r = 0; r < rows; ++r) h.testRows[r] = r;

  const int in = test.inputDim;
  for (int start = 0; start < rows; start += batch) {
    const int n = std::min(batch, rows - start);
    // One eval batch: predict() pads it to B rows and runs the eval phase once, leaving its
    // activations in the arena for the read below.
    std::vector<float> x(test.x.begin() + static_cast<long>(start) * in, test.x.begin() + static_cast<long>(start + n) * in);
    std::vector<int32_t> labels(h.labels.begin() + start, h.labels.begin() + start + n);
    Probe part = predict(x, labels);
    backend_->read(range.offset, h.x.data() + static_cast<size_t>(start) * dim, static_cast<uint64_t>(n) * dim);
    appendRouting(h.routing, std::move(part.layers));
  }
  return h;
}

HiddenStates Session::tokenHiddenStates(int moeLayer, int maxRows, HiddenSide side) {
  const TokenDataset& test = tokens_.test;
  const int T = test.length;
  if (maxRows < T)
    throw std::invalid_argument("hiddenStates: maxRows " + std::to_string(maxRows) + " is less than one sequence (" +
                                std::to_string(T) + " tokens); the rows are the tokens of whole sequences");
  const int S = std::min<int>(maxRows / T, static_cast<int>(test.size()));
  const int rows = S * T;
  const int batch = model_.eval.batch;  // sequences per eval batch
  const Binding range = tokenRepresentationRange(model_, moeLayer, side);
  const uint64_t batchTokens = static_cast<uint64_t>(batch) * T;
  if (range.words % batchTokens != 0)
    throw std::logic_error("hiddenStates: the representation tensor is not [batch * T, width]");
  const int dim = static_cast<int>(range.words / batchTokens);

  HiddenStates h;
  h.step = step_;
  h.layer = moeLayer;
  h.side = side;
  h.rows = rows;
  h.dim = dim;
  h.sequenceLength = T;
  h.x.resize(static_cast<size_t>(rows) * dim);
  h.testRows.resize(rows);
  for (int r = 0; r < rows; ++r) h.testRows[r] = r;  // the probe's token rows, s T + t

  const bool multiTask = test.kind == TokenStreamKind::MultiTask;
  const std::vector<std::string>& groupNames = multiTask ? test.taskNames : test.languageNames;
  h.labels.resize(rows);
  if (test.objective == SequenceTask::NextToken) {
    // No sequence class to predict: the sequence's task or main language stands in.
    for (int r = 0; r < rows; ++r) h.labels[r] = test.group[r / T];
    h.classes = static_cast<int>(groupNames.size());
    h.classNames = groupNames;
  } else {
    for (int r = 0; r < rows; ++r) h.labels[r] = test.sequenceClass[r / T];
    h.classes = test.classes;
    h.classNames = test.classNames;
  }
  const size_t tokens = static_cast<size_t>(rows);
  if (multiTask)
    h.extraLabels.push_back(tokenLabels("task", false, test.taskLabel, tokens, test.taskNames));
  else
    h.extraLabels.push_back(tokenLabels("language", false, test.languageLabel, tokens, test.languageNames));
  h.extraLabels.push_back(tokenLabels("position", true, test.position, tokens, {}));
  h.extraLabels.push_back(tokenLabels("token", true, test.ids, tokens, test.tokenNames));
  h.extraLabels.push_back(tokenLabels("role", false, test.role, tokens, test.roleNames));

  for (int start = 0; start < S; start += batch) {
    const int n = std::min(batch, S - start);
    // At most one eval batch per call, so its activations are still in the arena for the read.
    const auto from = static_cast<long>(start) * T, to = static_cast<long>(start + n) * T;
    std::vector<int32_t> ids(test.ids.begin() + from, test.ids.begin() + to);
    std::vector<int32_t> group(test.group.begin() + start, test.group.begin() + start + n);
    Probe part = predictSequences(ids, group);
    backend_->read(range.offset, h.x.data() + static_cast<size_t>(from) * dim, static_cast<uint64_t>(to - from) * dim);
    appendRouting(h.routing, std::move(part.layers));
  }
  return h;
}

}  // namespace rl
