// Session::hiddenStates: the rows a MoE layer receives (or produces) for the first held-out rows,
// read back from the eval phase's own activations after each eval batch, with the routing of
// every layer. The eval batch holds at most model_.eval.batch rows, so larger probe sets run
// several batches (predict() does one batch per call here).
//
// Legend: R probe rows, B eval batch rows, D representation width.
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
  if (side == HiddenSide::Output) return bind(program, program.id("eval.moe." + std::to_string(layer) + ".y"));
  return bind(program, model.eval.moe.at(size_t(layer)).input);
}

}  // namespace

HiddenStates Session::hiddenStates(int moeLayer, int maxRows, HiddenSide side) {
  const int layers = static_cast<int>(model_.moeLayers.size());
  if (moeLayer < 0 || moeLayer >= layers)
    throw std::invalid_argument("hiddenStates: MoE layer " + std::to_string(moeLayer) + " does not exist (the model has " +
                                std::to_string(layers) + ")");
  if (maxRows <= 0) throw std::invalid_argument("hiddenStates: maxRows must be positive");

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
    if (h.routing.empty()) {
      h.routing = std::move(part.layers);
      continue;
    }
    for (size_t j = 0; j < h.routing.size(); ++j) {
      ProbeLayer& all = h.routing[j];
      const ProbeLayer& L = part.layers[j];
      all.probs.insert(all.probs.end(), L.probs.begin(), L.probs.end());
      all.idx.insert(all.idx.end(), L.idx.begin(), L.idx.end());
      all.wt.insert(all.wt.end(), L.wt.begin(), L.wt.end());
      all.slot.insert(all.slot.end(), L.slot.begin(), L.slot.end());
    }
  }
  return h;
}

}  // namespace rl
